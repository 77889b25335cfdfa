#include "steerdns/server/worker.h"

#include "steerdns/server/tcp_session.h"
#include "steerdns/util/cpu_affinity.h"
#include "steerdns/util/log.h"

namespace steerdns::server {

Worker::Worker(unsigned id, unsigned first_row, const ServeOptions& opts, SnapshotSlot& slot,
               SharedLimits* limits)
    : id_(id),
      opts_(opts),
      slot_(slot),
      own_limits_(limits ? nullptr : std::make_unique<SharedLimits>(opts)),
      limits_(limits ? limits : own_limits_.get()),
      first_row_(first_row),
      tcp_responder_(first_row, opts, slot, *limits_) {
    tcp_out_.resize(TcpSession::kOutBatch);
    tcp_in_.resize(TcpSession::kReadChunk);
    mailbox_ = util::make_uv<uv_async_t>();
    util::uv_check(
        uv_async_init(loop_.get(), mailbox_.get(),
                      [](uv_async_t* a) { static_cast<Worker*>(a->data)->on_mailbox(); }),
        "uv_async_init");
    mailbox_->data = this;
}

Worker::~Worker() {
    stop();
    join();
}

void Worker::add_udp(Fd fd, const ListenAddr& at) {
    const auto row = first_row_ + 1 + static_cast<unsigned>(lanes_.size());
    lanes_.push_back(std::make_unique<UdpLane>(row, opts_, slot_, *limits_, std::move(fd), at));
}

std::vector<Responder*> Worker::responders() {
    std::vector<Responder*> out{&tcp_responder_};
    for (auto& l : lanes_) out.push_back(&l->responder());
    return out;
}

std::vector<const Responder*> Worker::responders() const {
    std::vector<const Responder*> out{&tcp_responder_};
    for (const auto& l : lanes_) out.push_back(&l->responder());
    return out;
}

void Worker::set_probe_lookup(const why::ProbeLookup& probes) {
    for (Responder* r : responders()) r->set_probe_lookup(probes);
}

void Worker::add_tcp(Fd fd, const ListenAddr& at) {
    auto l = std::make_unique<TcpListener>();
    l->worker = this;
    l->tcp = util::make_uv<uv_tcp_t>();
    util::uv_check(uv_tcp_init(loop_.get(), l->tcp.get()), "uv_tcp_init");
    l->tcp->data = l.get();
    util::uv_check(uv_tcp_open(l->tcp.get(), fd.release()), ("uv_tcp_open " + at.text).c_str());
    util::uv_check(uv_listen(reinterpret_cast<uv_stream_t*>(l->tcp.get()), 1024,
                             [](uv_stream_t* s, int status) {
                                 auto* listener = static_cast<TcpListener*>(s->data);
                                 if (status >= 0) listener->worker->on_accept(*listener);
                             }),
                   ("listen tcp " + at.text).c_str());
    tcp_.push_back(std::move(l));
}

int Worker::cpu() const {
    if (opts_.worker_cpus.empty()) return -1;
    return static_cast<int>(opts_.worker_cpus[id_ % opts_.worker_cpus.size()]);
}

void Worker::start() {
    for (auto& l : lanes_) l->start(cpu());
    thread_ = std::thread([this] { run(); });
}

void Worker::run() {
    if (cpu() >= 0) util::pin_current_thread(static_cast<unsigned>(cpu()), "worker");
    uv_run(loop_.get(), UV_RUN_DEFAULT);
}

void Worker::adopt_snapshot() {
    for (auto& l : lanes_) l->adopt_snapshot();
    uv_async_send(mailbox_.get());
}

void Worker::stop() {
    for (auto& l : lanes_) l->stop();
    if (!mailbox_) return;
    stopping_.store(true, std::memory_order_release);
    uv_async_send(mailbox_.get());
}

void Worker::join() {
    for (auto& l : lanes_) l->join();
    if (thread_.joinable()) thread_.join();
}

void Worker::on_mailbox() {
    if (stopping_.load(std::memory_order_acquire)) {
        close_all();
        return;
    }
    // Once per reload: the only place the loop touches the shared slot.
    tcp_responder_.adopt();
}

void Worker::close_all() {
    sessions_.clear();
    tcp_.clear();
    mailbox_.reset();
    tcp_responder_.release();
}

void Worker::on_accept(TcpListener& l) {
    auto session = std::make_unique<TcpSession>(*this);
    if (!session->accept(reinterpret_cast<uv_stream_t*>(l.tcp.get()))) return;
    // Over a cap: accepted and closed at once, so the client learns sooner than from a
    // timeout and the listen queue does not fill with connections nobody will serve.
    uint32_t slot = 0;
    switch (limits_->tcp.acquire(session->client(), slot)) {
        case ConnectionLimiter::Admit::total_full:
            WorkerStats::bump(mutable_stats().tcp_rejected);
            return;
        case ConnectionLimiter::Admit::client_full:
            WorkerStats::bump(mutable_stats().tcp_rejected_per_client);
            return;
        case ConnectionLimiter::Admit::ok:
            break;
    }
    WorkerStats::bump(mutable_stats().tcp_accepted);
    sessions_.push_front(std::move(session));
    sessions_.front()->set_position(sessions_.begin());
    sessions_.front()->start(slot);
}

void Worker::remove_session(TcpSession* s) {
    sessions_.erase(s->position());
}

}  // namespace steerdns::server
