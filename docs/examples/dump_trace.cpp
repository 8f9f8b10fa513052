// dump_trace.cpp: a C++ port that writes its intermediate tensors as an audioparity trace,
// one .safetensors file whose __metadata__ holds `audioparity.order` (execution order).
// Standard C++17 only: the safetensors header is a JSON string written by hand.
//
//   g++ -std=c++17 -O2 -o dump_trace docs/examples/dump_trace.cpp
//   ./dump_trace WEIGHTS.bin OUT.safetensors ID [ID ...] [--bug]
//   audioparity compare ref.safetensors OUT.safetensors
//
// The network is a tiny token-to-waveform model whose PyTorch reference is in
// tests/docs/test_cpp_dump_example.py (the test compiles and runs this file):
//
//   tok_embed   Embedding(32, 8), table stored BF16          -> [1, T, 8]
//   pos_embed   Embedding(64, 8), table stored F16           -> [T, 8]
//   to_channels_first  (tok + pos) transposed: a strided VIEW -> [1, 8, T]
//   conv        Conv1d(8, 8, k=3, pad=1)                     -> [1, 8, T]
//   act         tanh                                         -> [1, 8, T]
//   head        Conv1d(8, 1, k=3, pad=1)                     -> [1, 1, T]
//   act         the same tanh module again: dumped as act#1  -> [1, 1, T]
//   output      the model's output (the reference's root)    -> [1, 1, T]
//
// Three things every dumper must get right, each marked DUMP RULE below:
//   1. a non-contiguous view (transpose, permute, slice) is read through its strides,
//      never written in memory order;
//   2. F16 / BF16 data is converted to F32 (audioparity also reads F16/BF16 stored as such);
//   3. a name used again (a module called twice, llama.cpp's `Qcur-0` before and after
//      RoPE) gets `#1`, `#2`, ...: the convention of audioparity's own captures.
// Names are the graph node's name: here the reference's module path; in llama.cpp the node
// name (`attn_norm-0`, `Qcur-0`), never a GGUF weight name (`blk.0.attn_norm.weight`).
//
// WEIGHTS.bin is little-endian, in this order: tok_embed [32,8] BF16, pos_embed [64,8] F16,
// conv.weight [8,8,3] F32, conv.bias [8] F32, head.weight [1,8,3] F32, head.bias [1] F32.
// --bug plants a port bug: conv's kernel is applied flipped (convolution instead of
// PyTorch's cross-correlation).

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

constexpr int64_t kVocab = 32, kChannels = 8, kMaxLen = 64, kKernel = 3;

// ----------------------------------------------------------------------------- tensors
enum class DType { F32, F16, BF16 };

size_t element_size(DType t) { return t == DType::F32 ? 4 : 2; }

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

Tensor empty(DType type, std::vector<int64_t> shape) {
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
Tensor transposed(const Tensor& t, size_t a, size_t b) {
    Tensor v = t;
    std::swap(v.shape[a], v.shape[b]);
    std::swap(v.strides[a], v.strides[b]);
    return v;
}

float f16_to_f32(uint16_t h) {
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

float bf16_to_f32(uint16_t b) {
    const uint32_t bits = static_cast<uint32_t>(b) << 16;  // bf16 is f32's top half
    float f;
    std::memcpy(&f, &bits, 4);
    return f;
}

// Element `index` (row-major over the shape) read through the strides, as F32.
float element(const Tensor& t, int64_t index) {
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

float at(const Tensor& t, int64_t i, int64_t j, int64_t k) {  // 3-D index
    return element(t, (i * t.shape[1] + j) * t.shape[2] + k);
}

void set(Tensor& t, int64_t index, float value) {  // contiguous F32 only
    std::memcpy(t.storage->data() + t.offset + 4 * index, &value, 4);
}

// ----------------------------------------------------------------------------- the trace
// Collects named tensors in execution order and writes them as one .safetensors file.
class TraceWriter {
  public:
    // Record `t` under the graph node `name` (copied now: a later op may reuse its memory).
    void add(const std::string& name, const Tensor& t) {
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
    }

    // Header (8-byte little-endian length, JSON padded with spaces to 8 bytes), then the
    // data. Written to PATH.tmp and renamed, so a crash never leaves a half trace.
    void save(const std::string& path, const std::string& meta_json) const {
        std::string order = "[";
        for (size_t i = 0; i < entries_.size(); ++i) {
            order += (i ? "," : "") + quoted(entries_[i].name);
        }
        order += "]";
        std::string header = "{\"__metadata__\":{\"audioparity.order\":" + quoted(order) +
                             ",\"audioparity.meta\":" + quoted(meta_json) + "}";
        uint64_t begin = 0;
        for (const Entry& e : entries_) {
            const uint64_t end = begin + 4 * e.values.size();
            header += "," + quoted(e.name) + ":{\"dtype\":\"F32\",\"shape\":[";
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

    // A JSON string literal: quotes, backslashes and control characters escaped.
    static std::string quoted(const std::string& s) {
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

    static void put_le(std::ofstream& out, uint64_t value, int bytes) {
        for (int i = 0; i < bytes; ++i) out.put(static_cast<char>((value >> (8 * i)) & 0xff));
    }

    std::vector<Entry> entries_;
    std::map<std::string, int> seen_;
};

// ----------------------------------------------------------------------------- the model
struct Weights {
    Tensor tok_embed, pos_embed, conv_w, conv_b, head_w, head_b;
};

Tensor read_tensor(std::ifstream& in, DType type, std::vector<int64_t> shape) {
    Tensor t = empty(type, std::move(shape));
    in.read(reinterpret_cast<char*>(t.storage->data()),
            static_cast<std::streamsize>(t.storage->size()));
    return t;
}

Weights load_weights(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw std::runtime_error(path + ": cannot open the weights");
    Weights w;
    w.tok_embed = read_tensor(in, DType::BF16, {kVocab, kChannels});
    w.pos_embed = read_tensor(in, DType::F16, {kMaxLen, kChannels});
    w.conv_w = read_tensor(in, DType::F32, {kChannels, kChannels, kKernel});
    w.conv_b = read_tensor(in, DType::F32, {kChannels});
    w.head_w = read_tensor(in, DType::F32, {1, kChannels, kKernel});
    w.head_b = read_tensor(in, DType::F32, {1});
    if (!in || in.peek() != std::char_traits<char>::eof()) {
        throw std::runtime_error(path + ": not the expected size (see the top of this file)");
    }
    return w;
}

// Rows `ids` of a [rows, C] table: a copy in the table's own dtype (like ggml_get_rows).
Tensor rows(const Tensor& table, const std::vector<int64_t>& ids, bool batch) {
    const int64_t n = static_cast<int64_t>(ids.size()), c = table.shape[1];
    Tensor out = batch ? empty(table.type, {1, n, c}) : empty(table.type, {n, c});
    const size_t row_bytes = static_cast<size_t>(c) * element_size(table.type);
    for (int64_t i = 0; i < n; ++i) {
        std::memcpy(out.storage->data() + i * row_bytes,
                    table.storage->data() + ids[static_cast<size_t>(i)] * row_bytes, row_bytes);
    }
    return out;
}

// x [1, Cin, T] (any strides) * w [Cout, Cin, K] + b, zero padding K/2: PyTorch's Conv1d,
// a cross-correlation. `flip` applies the kernel reversed: the planted bug.
Tensor conv1d(const Tensor& x, const Tensor& w, const Tensor& b, bool flip) {
    const int64_t cin = x.shape[1], t_len = x.shape[2], cout = w.shape[0], k = w.shape[2];
    Tensor y = empty(DType::F32, {1, cout, t_len});
    for (int64_t o = 0; o < cout; ++o) {
        for (int64_t t = 0; t < t_len; ++t) {
            float acc = element(b, o);
            for (int64_t i = 0; i < cin; ++i) {
                for (int64_t j = 0; j < k; ++j) {
                    const int64_t src = t + j - k / 2;
                    if (src < 0 || src >= t_len) continue;
                    acc += at(w, o, i, flip ? k - 1 - j : j) * at(x, 0, i, src);
                }
            }
            set(y, o * t_len + t, acc);
        }
    }
    return y;
}

Tensor tanh_of(const Tensor& x) {
    Tensor y = empty(DType::F32, x.shape);
    for (int64_t i = 0; i < x.numel(); ++i) set(y, i, std::tanh(element(x, i)));
    return y;
}

Tensor add(const Tensor& a, const Tensor& b) {  // a [1, T, C] + b [T, C]
    Tensor y = empty(DType::F32, a.shape);
    for (int64_t i = 0; i < a.numel(); ++i) set(y, i, element(a, i) + element(b, i));
    return y;
}

// The forward pass; every node goes to the trace under its reference module name.
Tensor forward(const Weights& w, const std::vector<int64_t>& ids, bool bug, TraceWriter& trace) {
    std::vector<int64_t> positions(ids.size());
    for (size_t i = 0; i < ids.size(); ++i) positions[i] = static_cast<int64_t>(i);
    const Tensor tok = rows(w.tok_embed, ids, true);  // BF16 node
    trace.add("tok_embed", tok);
    const Tensor pos = rows(w.pos_embed, positions, false);  // F16 node
    trace.add("pos_embed", pos);
    const Tensor h = transposed(add(tok, pos), 1, 2);  // [1, C, T]: a view, not contiguous
    trace.add("to_channels_first", h);
    const Tensor c = conv1d(h, w.conv_w, w.conv_b, bug);
    trace.add("conv", c);
    const Tensor a = tanh_of(c);
    trace.add("act", a);
    const Tensor y = conv1d(a, w.head_w, w.head_b, false);
    trace.add("head", y);
    const Tensor out = tanh_of(y);
    trace.add("act", out);  // same module again: stored as act#1
    trace.add("output", out);
    return out;
}

}  // namespace

int main(int argc, char** argv) {
    std::vector<std::string> args(argv + 1, argv + argc);
    bool bug = false;
    std::vector<std::string> positional;
    for (const std::string& a : args) {
        if (a == "--bug") {
            bug = true;
        } else {
            positional.push_back(a);
        }
    }
    if (positional.size() < 3) {
        std::cerr << "usage: dump_trace WEIGHTS.bin OUT.safetensors ID [ID ...] [--bug]\n";
        return 2;
    }
    try {
        std::vector<int64_t> ids;
        for (size_t i = 2; i < positional.size(); ++i) {
            const int64_t id = std::stoll(positional[i]);
            if (id < 0 || id >= kVocab) throw std::runtime_error("token id out of range");
            ids.push_back(id);
        }
        if (static_cast<int64_t>(ids.size()) > kMaxLen) {
            throw std::runtime_error("more tokens than positions");
        }
        const Weights weights = load_weights(positional[0]);
        TraceWriter trace;
        forward(weights, ids, bug, trace);
        trace.save(positional[1], "{\"source\":\"cpp\",\"model\":\"TinyNet\"}");
    } catch (const std::exception& e) {
        std::cerr << "dump_trace: " << e.what() << "\n";
        return 2;
    }
    return 0;
}
