// Listening sockets, created by hand so SO_REUSEPORT is set before bind() (libuv 1.44 cannot)
// and every worker gets its own socket in the same group.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include "steerdns/util/fd.h"
#include "steerdns/util/sockaddr.h"

namespace steerdns::server {

using util::Fd;
using util::ListenAddr;

// Throws if something already holds `at` (only our own SO_REUSEPORT group may share it).
void ensure_port_free(const ListenAddr& at, int socktype);

// Binds a UDP (SOCK_DGRAM) or TCP (SOCK_STREAM) socket with SO_REUSEPORT, non-blocking.
// TCP sockets are not yet listening. Throws std::runtime_error with errno text on failure.
Fd bind_socket(const ListenAddr& at, int socktype);

}  // namespace steerdns::server
