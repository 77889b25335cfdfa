// HTTP/1.1 messages of the control endpoint: the request parser (libhttp-parser underneath,
// fed incrementally, one request at a time so pipelined requests are answered in order) and
// responses. No I/O here: the connection side is in http_server.h.
#pragma once

#include <http_parser.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace steerdns::control {

// The control endpoint serves small requests to a few operators and scrapers; anything
// larger or more numerous is a mistake or an attack, refused early and cheaply.
struct HttpLimits {
    size_t max_header_bytes = 8 * 1024;  // request line and headers
    size_t max_body_bytes = 64 * 1024;   // a drain request is ~80 bytes
    unsigned max_connections = 64;       // concurrent, all clients together
    uint64_t idle_timeout_ms = 30000;    // a connection with nothing to do is closed
};

// options: only a CORS preflight for /status when --peer-status is set (peer_page.h).
enum class Method : uint8_t { get, head, post, options, other };

struct HttpRequest {
    Method method = Method::other;
    std::string method_text;  // as sent, for messages
    std::string path;         // without the query string
    std::string query;
    std::string authorization;  // the Authorization header's value, "" when absent
    // Chrome's Private Network Access preflight: "Access-Control-Request-Private-Network: true".
    bool private_network_requested = false;
    std::string body;
    bool keep_alive = true;
};

struct HttpResponse {
    int status = 200;
    std::string content_type = "application/json";
    std::string body;
    std::vector<std::pair<std::string, std::string>> headers;  // extra ones
    bool close = false;  // close the connection once it is sent
};

const char* reason_phrase(int status);

// {"error": message} with `status`; 4xx responses to a request the server could not
// understand also close the connection.
HttpResponse json_error(int status, std::string_view message);

// The bytes on the wire. `head_only` (a HEAD request) keeps Content-Length but sends no body.
std::string serialize(const HttpResponse& r, bool keep_alive, bool head_only = false);

// Turns the bytes of one connection into requests.
class RequestParser {
  public:
    // Called once a request's line and headers are in, before any byte of its body is read:
    // nullopt lets it go on, a response refuses it (the connection is then closed, the body
    // never read). This is where the bearer token is checked.
    using HeadCheck = std::function<std::optional<HttpResponse>(const HttpRequest& head)>;

    RequestParser(HttpLimits limits, HeadCheck check);
    RequestParser(const RequestParser&) = delete;
    RequestParser& operator=(const RequestParser&) = delete;

    enum class Status : uint8_t {
        need_more,  // everything given was consumed; no complete request yet
        request,    // a request is complete: take() it; the bytes after it are not consumed
        reject,     // refused (bad syntax, too large, the head check): send rejection(), close
    };

    // Parses from data[0..len); returns the bytes consumed. After `request`, call feed again
    // with the rest (pipelining); after `reject`, the parser is done.
    size_t feed(const char* data, size_t len, Status& status);
    HttpRequest take();
    const HttpResponse& rejection() const { return rejection_; }

  private:
    static int on_message_begin(http_parser* p);
    static int on_url(http_parser* p, const char* at, size_t len);
    static int on_header_field(http_parser* p, const char* at, size_t len);
    static int on_header_value(http_parser* p, const char* at, size_t len);
    static int on_headers_complete(http_parser* p);
    static int on_body(http_parser* p, const char* at, size_t len);
    static int on_message_complete(http_parser* p);

    bool count_head(size_t len);  // false (and rejected) past max_header_bytes
    void end_header();
    void refuse(HttpResponse r);

    HttpLimits limits_;
    HeadCheck check_;
    http_parser parser_{};
    http_parser_settings settings_{};
    HttpRequest current_;
    std::string url_;
    std::string field_;
    std::string value_;
    bool in_value_ = false;
    size_t head_bytes_ = 0;
    bool complete_ = false;
    bool rejected_ = false;
    HttpResponse rejection_;
};

}  // namespace steerdns::control
