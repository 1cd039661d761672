build/obj/gen/cgroups/v2/metrics.pb-c.o: \
 build/gen/cgroups/v2/metrics.pb-c.c build/gen/cgroups/v2/metrics.pb-c.h
build/gen/cgroups/v2/metrics.pb-c.h:
