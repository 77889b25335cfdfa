#include "steerdns/control/http_request.h"

#include <strings.h>

#include <nlohmann/json.hpp>

namespace steerdns::control {

const char* reason_phrase(int status) {
    switch (status) {
        case 200:
            return "OK";
        case 204:
            return "No Content";
        case 400:
            return "Bad Request";
        case 401:
            return "Unauthorized";
        case 403:
            return "Forbidden";
        case 404:
            return "Not Found";
        case 405:
            return "Method Not Allowed";
        case 408:
            return "Request Timeout";
        case 409:
            return "Conflict";
        case 413:
            return "Content Too Large";
        case 422:
            return "Unprocessable Content";
        case 431:
            return "Request Header Fields Too Large";
        case 500:
            return "Internal Server Error";
        case 503:
            return "Service Unavailable";
        default:
            return "Unknown";
    }
}

HttpResponse json_error(int status, std::string_view message) {
    HttpResponse r;
    r.status = status;
    nlohmann::json body;
    body["error"] = std::string(message);
    // The message may quote what a client sent (a path): invalid UTF-8 is replaced, never
    // thrown about.
    r.body = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
    return r;
}

std::string serialize(const HttpResponse& r, bool keep_alive, bool head_only) {
    std::string out = "HTTP/1.1 ";
    out += std::to_string(r.status);
    out += ' ';
    out += reason_phrase(r.status);
    // 204 (a CORS preflight's answer) has no content, so no Content-Length (RFC 9110 8.6).
    if (r.status != 204) {
        out += "\r\nContent-Type: ";
        out += r.content_type;
        out += "\r\nContent-Length: ";
        out += std::to_string(r.body.size());
    }
    // Status and metrics change from one second to the next: never served from a cache.
    out += "\r\nCache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\n";
    for (const auto& [name, value] : r.headers) {
        out += name;
        out += ": ";
        out += value;
        out += "\r\n";
    }
    if (!keep_alive || r.close) out += "Connection: close\r\n";
    out += "\r\n";
    if (!head_only) out += r.body;
    return out;
}

RequestParser::RequestParser(HttpLimits limits, HeadCheck check)
    : limits_(limits), check_(std::move(check)) {
    http_parser_init(&parser_, HTTP_REQUEST);
    parser_.data = this;
    http_parser_settings_init(&settings_);
    settings_.on_message_begin = on_message_begin;
    settings_.on_url = on_url;
    settings_.on_header_field = on_header_field;
    settings_.on_header_value = on_header_value;
    settings_.on_headers_complete = on_headers_complete;
    settings_.on_body = on_body;
    settings_.on_message_complete = on_message_complete;
}

size_t RequestParser::feed(const char* data, size_t len, Status& status) {
    if (rejected_) {
        status = Status::reject;
        return 0;
    }
    status = Status::need_more;
    if (len == 0) return 0;  // to libhttp-parser, 0 bytes means end of stream
    // Paused after the previous request: resume where it stopped.
    http_parser_pause(&parser_, 0);
    const size_t n = http_parser_execute(&parser_, &settings_, data, len);
    const http_errno err = HTTP_PARSER_ERRNO(&parser_);
    if (rejected_) {
        status = Status::reject;
        return n;
    }
    if (complete_) {
        status = Status::request;
        return n;
    }
    if (err != HPE_OK && err != HPE_PAUSED) {
        std::string why = "malformed HTTP request: ";
        why += http_errno_description(err);
        refuse(json_error(err == HPE_HEADER_OVERFLOW ? 431 : 400, why));
        status = Status::reject;
        return n;
    }
    status = Status::need_more;
    return n;
}

HttpRequest RequestParser::take() {
    complete_ = false;
    HttpRequest out = std::move(current_);
    current_ = HttpRequest{};
    return out;
}

void RequestParser::refuse(HttpResponse r) {
    r.close = true;
    rejection_ = std::move(r);
    rejected_ = true;
    // Stops the parser in a callback; after a syntax error it has stopped already.
    if (HTTP_PARSER_ERRNO(&parser_) == HPE_OK) http_parser_pause(&parser_, 1);
}

bool RequestParser::count_head(size_t len) {
    head_bytes_ += len;
    if (head_bytes_ <= limits_.max_header_bytes) return true;
    refuse(json_error(431, "request line and headers are larger than " +
                               std::to_string(limits_.max_header_bytes) + " bytes"));
    return false;
}

int RequestParser::on_message_begin(http_parser* p) {
    auto* self = static_cast<RequestParser*>(p->data);
    self->current_ = HttpRequest{};
    self->url_.clear();
    self->field_.clear();
    self->value_.clear();
    self->in_value_ = false;
    self->head_bytes_ = 0;
    return 0;
}

int RequestParser::on_url(http_parser* p, const char* at, size_t len) {
    auto* self = static_cast<RequestParser*>(p->data);
    if (!self->count_head(len)) return 0;
    self->url_.append(at, len);
    return 0;
}

// libhttp-parser may hand a field or a value over in pieces; a field piece after a value
// piece starts the next header.
int RequestParser::on_header_field(http_parser* p, const char* at, size_t len) {
    auto* self = static_cast<RequestParser*>(p->data);
    if (!self->count_head(len)) return 0;
    if (self->in_value_) self->end_header();
    self->field_.append(at, len);
    return 0;
}

int RequestParser::on_header_value(http_parser* p, const char* at, size_t len) {
    auto* self = static_cast<RequestParser*>(p->data);
    if (!self->count_head(len)) return 0;
    self->in_value_ = true;
    self->value_.append(at, len);
    return 0;
}

void RequestParser::end_header() {
    if (strcasecmp(field_.c_str(), "authorization") == 0) current_.authorization = value_;
    if (strcasecmp(field_.c_str(), "access-control-request-private-network") == 0)
        current_.private_network_requested = strcasecmp(value_.c_str(), "true") == 0;
    field_.clear();
    value_.clear();
    in_value_ = false;
}

int RequestParser::on_headers_complete(http_parser* p) {
    auto* self = static_cast<RequestParser*>(p->data);
    if (self->in_value_) self->end_header();
    HttpRequest& r = self->current_;
    r.method_text = http_method_str(static_cast<http_method>(p->method));
    switch (p->method) {
        case HTTP_GET:
            r.method = Method::get;
            break;
        case HTTP_HEAD:
            r.method = Method::head;
            break;
        case HTTP_POST:
            r.method = Method::post;
            break;
        case HTTP_OPTIONS:
            r.method = Method::options;
            break;
        default:
            r.method = Method::other;
    }
    const size_t q = self->url_.find('?');
    r.path = self->url_.substr(0, q);
    if (q != std::string::npos) r.query = self->url_.substr(q + 1);
    r.keep_alive = http_should_keep_alive(p) != 0;
    // Decided before a byte of the body is read: a refused request costs nothing more.
    if (self->check_) {
        if (std::optional<HttpResponse> refused = self->check_(r)) {
            self->refuse(std::move(*refused));
            return 0;
        }
    }
    // ULLONG_MAX: no Content-Length (chunked or none); on_body enforces the limit then.
    if (p->content_length != ULLONG_MAX && p->content_length > self->limits_.max_body_bytes) {
        self->refuse(json_error(413, "request body is larger than " +
                                         std::to_string(self->limits_.max_body_bytes) + " bytes"));
    }
    return 0;
}

int RequestParser::on_body(http_parser* p, const char* at, size_t len) {
    auto* self = static_cast<RequestParser*>(p->data);
    if (self->current_.body.size() + len > self->limits_.max_body_bytes) {
        self->refuse(json_error(413, "request body is larger than " +
                                         std::to_string(self->limits_.max_body_bytes) + " bytes"));
        return 0;
    }
    self->current_.body.append(at, len);
    return 0;
}

int RequestParser::on_message_complete(http_parser* p) {
    auto* self = static_cast<RequestParser*>(p->data);
    self->complete_ = true;
    // One request at a time: the next is parsed once this one is answered.
    http_parser_pause(p, 1);
    return 0;
}

}  // namespace steerdns::control
