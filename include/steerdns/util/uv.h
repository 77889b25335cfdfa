// RAII over libuv. A handle is heap-allocated and owned by a UvPtr; dropping the UvPtr calls
// uv_close, and the memory is released in the close callback, as libuv requires (the loop
// may still touch the handle until then). The loop must run once more for that to happen.
#pragma once

#include <uv.h>

#include <memory>
#include <stdexcept>
#include <string>

namespace steerdns::util {

template <typename T>
struct UvClose {
    void operator()(T* h) const {
        auto* base = reinterpret_cast<uv_handle_t*>(h);
        if (base->loop == nullptr) {  // never initialised: nothing for the loop to release
            std::default_delete<T>{}(h);
            return;
        }
        if (!uv_is_closing(base)) {
            uv_close(base,
                     [](uv_handle_t* c) { std::default_delete<T>{}(reinterpret_cast<T*>(c)); });
        }
    }
};

template <typename T>
using UvPtr = std::unique_ptr<T, UvClose<T>>;

template <typename T>
UvPtr<T> make_uv() {
    auto p = std::make_unique<T>();
    reinterpret_cast<uv_handle_t*>(p.get())->loop = nullptr;
    return UvPtr<T>(p.release());
}

inline std::string uv_error(int code) {
    return uv_strerror(code);
}

// Throws on a libuv error: for set-up paths, where failing loudly at start is right.
inline void uv_check(int rc, const char* what) {
    if (rc < 0) throw std::runtime_error(std::string(what) + ": " + uv_strerror(rc));
}

class Loop {
  public:
    Loop() { uv_check(uv_loop_init(&loop_), "uv_loop_init"); }
    ~Loop() {
        // Let pending close callbacks free their handles before the loop goes away.
        uv_run(&loop_, UV_RUN_DEFAULT);
        uv_loop_close(&loop_);
    }
    Loop(const Loop&) = delete;
    Loop& operator=(const Loop&) = delete;
    uv_loop_t* get() { return &loop_; }

  private:
    uv_loop_t loop_;
};

}  // namespace steerdns::util
