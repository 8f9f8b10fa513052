// dump_trace.cpp: a C++ port that writes its intermediate tensors as an audioparity trace
// with trace_writer.hpp (beside this file). Standard C++17, no third-party library.
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
// So the trace exercises the writer's three rules: a strided view, BF16 and F16 nodes, a
// repeated name. Every node is dumped under the reference's module name, so compare pairs
// them with no map.
//
// WEIGHTS.bin is little-endian, in this order: tok_embed [32,8] BF16, pos_embed [64,8] F16,
// conv.weight [8,8,3] F32, conv.bias [8] F32, head.weight [1,8,3] F32, head.bias [1] F32.
// --bug plants a port bug: conv's kernel is applied flipped (convolution instead of
// PyTorch's cross-correlation).

#include <cmath>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <iostream>
#include <stdexcept>
#include <string>
#include <vector>

#include "trace_writer.hpp"

namespace {

using trace_dump::DType;
using trace_dump::Tensor;
using trace_dump::TraceWriter;
using trace_dump::at;
using trace_dump::element;
using trace_dump::element_size;
using trace_dump::empty;
using trace_dump::set;
using trace_dump::transposed;

constexpr int64_t kVocab = 32, kChannels = 8, kMaxLen = 64, kKernel = 3;

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
