build/obj/common/fd.o: common/fd.c common/fd.h common/cleanup.h
common/fd.h:
common/cleanup.h:
