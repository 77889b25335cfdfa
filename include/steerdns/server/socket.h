// Listening sockets, created by hand so SO_REUSEPORT is set before bind() (libuv 1.44 cannot)
// and every worker gets its own socket in the same group.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <string>
#include <utility>

namespace steerdns::server {

// Owns a file descriptor.
class Fd {
  public:
    Fd() = default;
    explicit Fd(int fd) : fd_(fd) {}
    ~Fd() { reset(); }
    Fd(Fd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
    Fd& operator=(Fd&& o) noexcept {
        if (this != &o) {
            reset();
            fd_ = std::exchange(o.fd_, -1);
        }
        return *this;
    }
    int get() const { return fd_; }
    int release() { return std::exchange(fd_, -1); }
    void reset();
    explicit operator bool() const { return fd_ >= 0; }

  private:
    int fd_ = -1;
};

struct ListenAddr {
    sockaddr_storage addr{};
    socklen_t len = 0;
    std::string text;  // as the operator wrote it, for logs
    int family() const { return addr.ss_family; }
    bool is_wildcard() const;
    uint16_t port() const;
    void set_port(uint16_t port);
};

// Parses "127.0.0.1:5300", "[::1]:5300" or "[::]:53". False with `error` set otherwise.
bool parse_listen(const std::string& text, ListenAddr& out, std::string& error);

// Throws if something already holds `at` (only our own SO_REUSEPORT group may share it).
void ensure_port_free(const ListenAddr& at, int socktype);

// Binds a UDP (SOCK_DGRAM) or TCP (SOCK_STREAM) socket with SO_REUSEPORT, non-blocking.
// TCP sockets are not yet listening. Throws std::runtime_error with errno text on failure.
Fd bind_socket(const ListenAddr& at, int socktype);

}  // namespace steerdns::server
