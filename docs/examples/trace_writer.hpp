// trace_writer.hpp: write a port's intermediate tensors as an audioparity trace, one
// .safetensors file whose __metadata__ holds `audioparity.order` (execution order).
// Standard C++17 only: the safetensors header is a JSON string written by hand.
// Copy this file into a port; dump_trace.cpp (a small network) and llama_dump.cpp
// (llama.cpp's eval callback) use it, and tests/docs compiles and runs both.
//
// Three things every dumper must get right, each marked DUMP RULE below:
//   1. a non-contiguous view (transpose, permute, slice) is read through its strides,
//      never written in memory order;
//   2. F16 / BF16 data is converted to F32 (audioparity also reads F16/BF16 stored as such);
//   3. a name used again (a module called twice, llama.cpp's `Qcur-0` before and after
//      RoPE) gets `#1`, `#2`, ...: the convention of audioparity's own captures.
// Names are the graph node's name: the reference's module path where the port follows it;
// in llama.cpp the node name (`attn_norm-0`, `Qcur-0`), never a GGUF weight name
// (`blk.0.attn_norm.weight`).

#pragma once

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace trace_dump {

// ----------------------------------------------------------------------------- tensors
enum class DType { F32, F16, BF16 };

inline size_t element_size(DType t) { return t == DType::F32 ? 4 : 2; }

// A tensor or a view of one: shape and byte strides in NumPy order (outermost first).
// ggml keeps them innermost first (ne[0], nb[0]): reverse both when adapting this.
struct Tensor {
    DType type = DType::F32;
    std::vector<int64_t> shape;
    std::vector<int64_t> strides;  // bytes
    std::shared_ptr<std::vector<unsigned char>> storage;
    size_t offset = 0;             // bytes into storage

    int64_t numel() const {
        int64_t n = 1;
        for (int64_t d : shape) n *= d;
        return n;
    }
    bool contiguous() const {
        int64_t expect = static_cast<int64_t>(element_size(type));
        for (size_t i = shape.size(); i-- > 0;) {
            if (shape[i] != 1 && strides[i] != expect) return false;
            expect *= shape[i];
        }
        return true;
    }
};

inline Tensor empty(DType type, std::vector<int64_t> shape) {
    Tensor t;
    t.type = type;
    t.shape = std::move(shape);
    t.strides.assign(t.shape.size(), 0);
    int64_t stride = static_cast<int64_t>(element_size(type));
    for (size_t i = t.shape.size(); i-- > 0;) {
        t.strides[i] = stride;
        stride *= t.shape[i];
    }
    t.storage = std::make_shared<std::vector<unsigned char>>(
        static_cast<size_t>(t.numel()) * element_size(type));
    return t;
}

// A view with axes a and b swapped: no data moves, only the strides (torch's transpose).
inline Tensor transposed(const Tensor& t, size_t a, size_t b) {
    Tensor v = t;
    std::swap(v.shape[a], v.shape[b]);
    std::swap(v.strides[a], v.strides[b]);
    return v;
}

inline float f16_to_f32(uint16_t h) {
    const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
    uint32_t exponent = (h >> 10) & 0x1fu, mantissa = h & 0x3ffu, bits;
    if (exponent == 0x1f) {
        bits = sign | 0x7f800000u | (mantissa << 13);           // inf, nan
    } else if (exponent != 0) {
        bits = sign | ((exponent + 112) << 23) | (mantissa << 13);  // normal
    } else if (mantissa == 0) {
        bits = sign;                                              // +-0
    } else {                                                      // subnormal: normalise
        exponent = 113;
        while ((mantissa & 0x400u) == 0) {
            mantissa <<= 1;
            --exponent;
        }
        bits = sign | (exponent << 23) | ((mantissa & 0x3ffu) << 13);
    }
    float f;
    std::memcpy(&f, &bits, 4);
    return f;
}

inline float bf16_to_f32(uint16_t b) {
    const uint32_t bits = static_cast<uint32_t>(b) << 16;  // bf16 is f32's top half
    float f;
    std::memcpy(&f, &bits, 4);
    return f;
}

// Element `index` (row-major over the shape) read through the strides, as F32.
inline float element(const Tensor& t, int64_t index) {
    int64_t byte = static_cast<int64_t>(t.offset);
    for (size_t i = t.shape.size(); i-- > 0;) {
        byte += (index % t.shape[i]) * t.strides[i];
        index /= t.shape[i];
    }
    const unsigned char* p = t.storage->data() + byte;
    if (t.type == DType::F32) {
        float f;
        std::memcpy(&f, p, 4);
        return f;
    }
    uint16_t h;
    std::memcpy(&h, p, 2);
    return t.type == DType::F16 ? f16_to_f32(h) : bf16_to_f32(h);
}

inline float at(const Tensor& t, int64_t i, int64_t j, int64_t k) {  // 3-D index
    return element(t, (i * t.shape[1] + j) * t.shape[2] + k);
}

inline void set(Tensor& t, int64_t index, float value) {  // contiguous F32 only
    std::memcpy(t.storage->data() + t.offset + 4 * index, &value, 4);
}

// A JSON string literal: quotes, backslashes and control characters escaped.
inline std::string json_string(const std::string& s) {
    std::string q = "\"";
    for (unsigned char c : s) {
        if (c == '"' || c == '\\') {
            q += '\\';
            q += static_cast<char>(c);
        } else if (c < 0x20) {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\u%04x", c);
            q += buf;
        } else {
            q += static_cast<char>(c);
        }
    }
    return q + "\"";
}

// ----------------------------------------------------------------------------- the trace
// Collects named tensors in execution order and writes them as one .safetensors file.
class TraceWriter {
  public:
    // Record `t` under the graph node `name` (copied now: a later op may reuse its memory);
    // returns the name it is stored under (NAME#k for a repeat).
    std::string add(const std::string& name, const Tensor& t) {
        // DUMP RULE 3: a repeated name gets #1, #2, ... (the first call is plain NAME).
        const int repeat = seen_[name]++;
        Entry e{repeat == 0 ? name : name + "#" + std::to_string(repeat), t.shape, {}};
        e.values.resize(static_cast<size_t>(t.numel()));
        if (t.type == DType::F32 && t.contiguous()) {
            std::memcpy(e.values.data(), t.storage->data() + t.offset, 4 * e.values.size());
        } else {
            // DUMP RULES 1 and 2: walk the view's strides in logical (row-major) order and
            // widen F16/BF16; copying the buffer as it lies would scramble a transpose.
            for (size_t i = 0; i < e.values.size(); ++i) {
                e.values[i] = element(t, static_cast<int64_t>(i));
            }
        }
        entries_.push_back(std::move(e));
        return entries_.back().name;
    }

    // Header (8-byte little-endian length, JSON padded with spaces to 8 bytes), then the
    // data. Written to PATH.tmp and renamed, so a crash never leaves a half trace.
    // `meta_json` (a JSON object) becomes `audioparity.meta`.
    void save(const std::string& path, const std::string& meta_json) const {
        std::string order = "[";
        for (size_t i = 0; i < entries_.size(); ++i) {
            order += (i ? "," : "") + json_string(entries_[i].name);
        }
        order += "]";
        std::string header = "{\"__metadata__\":{\"audioparity.order\":" + json_string(order) +
                             ",\"audioparity.meta\":" + json_string(meta_json) + "}";
        uint64_t begin = 0;
        for (const Entry& e : entries_) {
            const uint64_t end = begin + 4 * e.values.size();
            header += "," + json_string(e.name) + ":{\"dtype\":\"F32\",\"shape\":[";
            for (size_t i = 0; i < e.shape.size(); ++i) {
                header += (i ? "," : "") + std::to_string(e.shape[i]);
            }
            header += "],\"data_offsets\":[" + std::to_string(begin) + "," +
                      std::to_string(end) + "]}";
            begin = end;
        }
        header += "}";
        header.append((8 - header.size() % 8) % 8, ' ');

        const std::string tmp = path + ".tmp";
        std::ofstream out(tmp, std::ios::binary);
        put_le(out, static_cast<uint64_t>(header.size()), 8);
        out << header;
        for (const Entry& e : entries_) {
            for (float v : e.values) {
                uint32_t bits;
                std::memcpy(&bits, &v, 4);
                put_le(out, bits, 4);
            }
        }
        out.close();
        if (!out || std::rename(tmp.c_str(), path.c_str()) != 0) {
            std::remove(tmp.c_str());
            throw std::runtime_error(path + ": cannot write the trace");
        }
    }

  private:
    struct Entry {
        std::string name;
        std::vector<int64_t> shape;
        std::vector<float> values;
    };

    static void put_le(std::ofstream& out, uint64_t value, int bytes) {
        for (int i = 0; i < bytes; ++i) out.put(static_cast<char>((value >> (8 * i)) & 0xff));
    }

    std::vector<Entry> entries_;
    std::map<std::string, int> seen_;
};

}  // namespace trace_dump
