build/obj/gen/containerd/types/mount.pb-c.o: \
 build/gen/containerd/types/mount.pb-c.c \
 build/gen/containerd/types/mount.pb-c.h
build/gen/containerd/types/mount.pb-c.h:
