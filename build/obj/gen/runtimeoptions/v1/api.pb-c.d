build/obj/gen/runtimeoptions/v1/api.pb-c.o: \
 build/gen/runtimeoptions/v1/api.pb-c.c \
 build/gen/runtimeoptions/v1/api.pb-c.h
build/gen/runtimeoptions/v1/api.pb-c.h:
