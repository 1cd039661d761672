build/obj/gen/containerd/types/task.pb-c.o: \
 build/gen/containerd/types/task.pb-c.c \
 build/gen/containerd/types/task.pb-c.h \
 build/gen/google/protobuf/any.pb-c.h
build/gen/containerd/types/task.pb-c.h:
build/gen/google/protobuf/any.pb-c.h:
