build/obj/gen/containerd/events/task.pb-c.o: \
 build/gen/containerd/events/task.pb-c.c \
 build/gen/containerd/events/task.pb-c.h \
 build/gen/google/protobuf/timestamp.pb-c.h \
 build/gen/containerd/types/mount.pb-c.h
build/gen/containerd/events/task.pb-c.h:
build/gen/google/protobuf/timestamp.pb-c.h:
build/gen/containerd/types/mount.pb-c.h:
