build/obj/gen/google/protobuf/any.pb-c.o: \
 build/gen/google/protobuf/any.pb-c.c \
 build/gen/google/protobuf/any.pb-c.h
build/gen/google/protobuf/any.pb-c.h:
