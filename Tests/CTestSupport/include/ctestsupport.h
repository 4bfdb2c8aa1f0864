#ifndef APPLINKS_CTESTSUPPORT_H
#define APPLINKS_CTESTSUPPORT_H
/// Opens a pseudo-terminal pair. Returns 0 and sets both descriptors, or -1 with errno set.
int applinks_test_openpty(int *master, int *slave);
#endif
