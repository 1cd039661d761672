build/obj/gen/google/protobuf/empty.pb-c.o: \
 build/gen/google/protobuf/empty.pb-c.c \
 build/gen/google/protobuf/empty.pb-c.h
build/gen/google/protobuf/empty.pb-c.h:
