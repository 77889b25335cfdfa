// The response to one health check GET, read off the wire: libhttp-parser underneath, fed
// whatever each read brought (a status line split over reads, chunked or Content-Length
// bodies, a body that ends with the connection). No I/O here: the connection side is in
// http_client.cc.
#pragma once

#include <http_parser.h>

#include <cstddef>
#include <string>

namespace steerdns::health {

// A check reads a status line and a small body; a backend streaming more than this is cut
// off (and judged on what arrived), so a probe costs bounded memory.
inline constexpr size_t kMaxHealthBody = 64 * 1024;

class HttpResponseReader {
  public:
    enum class Progress {
        more,      // the response has not ended: read on
        complete,  // the whole response is in
        capped,    // the body reached the cap: judged on its first max_body bytes
        error,     // not HTTP, or the connection ended inside the response: error()
    };

    // keep_body: store the body (up to max_body) for an expect_body match; without it the
    // body is only counted.
    explicit HttpResponseReader(bool keep_body = true, size_t max_body = kMaxHealthBody);
    HttpResponseReader(const HttpResponseReader&) = delete;
    HttpResponseReader& operator=(const HttpResponseReader&) = delete;

    // For the next response on the connection.
    void reset();
    Progress feed(const char* data, size_t len);
    // The peer closed the connection: ends a body read to the end of the stream.
    Progress end_of_stream();

    bool started() const { return started_; }  // any byte of a response came
    int status() const { return status_; }
    const std::string& body() const { return body_; }
    // Once complete: the connection may carry the next request (HTTP/1.1 without
    // "Connection: close", nothing sent after the response).
    bool reusable() const { return reusable_; }
    const std::string& error() const { return error_; }

  private:
    static int on_headers_complete(http_parser* p);
    static int on_body(http_parser* p, const char* at, size_t len);
    static int on_message_complete(http_parser* p);
    Progress fail(std::string why);

    http_parser parser_{};
    http_parser_settings settings_{};
    bool keep_body_;
    size_t max_body_;
    size_t body_bytes_ = 0;
    bool started_ = false;
    bool complete_ = false;
    bool capped_ = false;
    bool reusable_ = false;
    int status_ = 0;
    std::string body_;
    std::string error_;
};

}  // namespace steerdns::health
