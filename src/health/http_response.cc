#include "steerdns/health/http_response.h"

#include <algorithm>
#include <utility>

namespace steerdns::health {

HttpResponseReader::HttpResponseReader(bool keep_body, size_t max_body)
    : keep_body_(keep_body), max_body_(max_body) {
    http_parser_settings_init(&settings_);
    settings_.on_headers_complete = on_headers_complete;
    settings_.on_body = on_body;
    settings_.on_message_complete = on_message_complete;
    reset();
}

void HttpResponseReader::reset() {
    http_parser_init(&parser_, HTTP_RESPONSE);
    parser_.data = this;
    body_bytes_ = 0;
    started_ = complete_ = capped_ = reusable_ = false;
    status_ = 0;
    body_.clear();
    error_.clear();
}

HttpResponseReader::Progress HttpResponseReader::feed(const char* data, size_t len) {
    if (complete_) {
        // Bytes nobody asked for: the connection is out of step, never reused.
        reusable_ = false;
        return Progress::complete;
    }
    if (!error_.empty()) return Progress::error;
    if (len > 0) started_ = true;
    const size_t n = http_parser_execute(&parser_, &settings_, data, len);
    if (capped_) return Progress::capped;
    if (complete_) {
        if (n < len) reusable_ = false;
        return Progress::complete;
    }
    const http_errno e = HTTP_PARSER_ERRNO(&parser_);
    if (e != HPE_OK) return fail(std::string("bad response: ") + http_errno_description(e));
    return Progress::more;
}

HttpResponseReader::Progress HttpResponseReader::end_of_stream() {
    if (complete_) return Progress::complete;
    if (capped_) return Progress::capped;
    if (!error_.empty()) return Progress::error;
    if (!started_) return fail("connection closed before the response");
    // A body without a length ends here; anything else was cut short.
    http_parser_execute(&parser_, &settings_, nullptr, 0);
    if (complete_) {
        reusable_ = false;
        return Progress::complete;
    }
    return fail("connection closed inside the response");
}

HttpResponseReader::Progress HttpResponseReader::fail(std::string why) {
    error_ = std::move(why);
    return Progress::error;
}

int HttpResponseReader::on_headers_complete(http_parser* p) {
    auto* self = static_cast<HttpResponseReader*>(p->data);
    self->status_ = static_cast<int>(p->status_code);
    return 0;
}

int HttpResponseReader::on_body(http_parser* p, const char* at, size_t len) {
    auto* self = static_cast<HttpResponseReader*>(p->data);
    const size_t room = self->max_body_ - self->body_bytes_;
    const size_t take = std::min(len, room);
    if (self->keep_body_) self->body_.append(at, take);
    self->body_bytes_ += take;
    if (len > room) {
        // Full: stop here (a non-zero return ends the parse); the rest is never read.
        self->capped_ = true;
        return 1;
    }
    return 0;
}

int HttpResponseReader::on_message_complete(http_parser* p) {
    auto* self = static_cast<HttpResponseReader*>(p->data);
    self->complete_ = true;
    self->reusable_ = http_should_keep_alive(p) != 0;
    // Whatever follows belongs to no request of ours: parse no further.
    http_parser_pause(p, 1);
    return 0;
}

}  // namespace steerdns::health
