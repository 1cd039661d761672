build/obj/gen/google/rpc/status.pb-c.o: \
 build/gen/google/rpc/status.pb-c.c build/gen/google/rpc/status.pb-c.h \
 build/gen/google/protobuf/any.pb-c.h
build/gen/google/rpc/status.pb-c.h:
build/gen/google/protobuf/any.pb-c.h:
