build/obj/gen/ttrpc.pb-c.o: build/gen/ttrpc.pb-c.c build/gen/ttrpc.pb-c.h \
 build/gen/google/rpc/status.pb-c.h build/gen/google/protobuf/any.pb-c.h
build/gen/ttrpc.pb-c.h:
build/gen/google/rpc/status.pb-c.h:
build/gen/google/protobuf/any.pb-c.h:
