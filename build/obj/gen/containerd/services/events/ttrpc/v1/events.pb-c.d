build/obj/gen/containerd/services/events/ttrpc/v1/events.pb-c.o: \
 build/gen/containerd/services/events/ttrpc/v1/events.pb-c.c \
 build/gen/containerd/services/events/ttrpc/v1/events.pb-c.h \
 build/gen/google/protobuf/any.pb-c.h \
 build/gen/google/protobuf/empty.pb-c.h \
 build/gen/google/protobuf/timestamp.pb-c.h
build/gen/containerd/services/events/ttrpc/v1/events.pb-c.h:
build/gen/google/protobuf/any.pb-c.h:
build/gen/google/protobuf/empty.pb-c.h:
build/gen/google/protobuf/timestamp.pb-c.h:
