#ifndef COMMON_VERSION_H
#define COMMON_VERSION_H
#define OYSTER_VERSION "0.1.0"
#endif
