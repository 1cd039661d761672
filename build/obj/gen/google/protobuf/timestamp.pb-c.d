build/obj/gen/google/protobuf/timestamp.pb-c.o: \
 build/gen/google/protobuf/timestamp.pb-c.c \
 build/gen/google/protobuf/timestamp.pb-c.h
build/gen/google/protobuf/timestamp.pb-c.h:
