build/obj/common/loop.o: common/loop.c common/loop.h common/cleanup.h
common/loop.h:
common/cleanup.h:
