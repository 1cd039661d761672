build/obj/gen/containerd/task/v2/shim.pb-c.o: \
 build/gen/containerd/task/v2/shim.pb-c.c \
 build/gen/containerd/task/v2/shim.pb-c.h \
 build/gen/google/protobuf/any.pb-c.h \
 build/gen/google/protobuf/empty.pb-c.h \
 build/gen/google/protobuf/timestamp.pb-c.h \
 build/gen/containerd/types/mount.pb-c.h \
 build/gen/containerd/types/task.pb-c.h
build/gen/containerd/task/v2/shim.pb-c.h:
build/gen/google/protobuf/any.pb-c.h:
build/gen/google/protobuf/empty.pb-c.h:
build/gen/google/protobuf/timestamp.pb-c.h:
build/gen/containerd/types/mount.pb-c.h:
build/gen/containerd/types/task.pb-c.h:
