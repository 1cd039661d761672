build/obj/common/errmap.o: common/errmap.c common/errmap.h
common/errmap.h:
