#include "steerdns/util/fd.h"

#include <unistd.h>

namespace steerdns::util {

void Fd::reset() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
}

}  // namespace steerdns::util
