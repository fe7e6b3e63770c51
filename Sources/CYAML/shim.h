#ifndef RAILGATE_CYAML_SHIM_H
#define RAILGATE_CYAML_SHIM_H
#include <yaml.h>
#endif
