// llama_dump.cpp: run a GGUF model in llama.cpp on given token ids and write every graph
// node the eval callback sees as an audioparity trace, with trace_writer.hpp.
//
//   g++ -std=c++17 -O2 -I LLAMA_INCLUDE -o llama_dump docs/examples/llama_dump.cpp
//       -L LLAMA_LIB -lllama -lggml -lggml-base -Wl,-rpath,LLAMA_LIB        (one line)
//   ./llama_dump MODEL.gguf OUT.safetensors ID [ID ...] [--defaults]
//   audioparity compare ref.safetensors OUT.safetensors
//
// (With the llamacpp extra installed, LLAMA_INCLUDE is site-packages/include and LLAMA_LIB
// site-packages/llama_cpp/lib; tests/docs builds it that way against a tiny Qwen3 GGUF.)
//
// The callback is the part to copy into a llama.cpp program: `cb_eval` is called twice per
// node, first to ask whether we want its data (ask = true), then with the data computed.
// ggml lists axes innermost first (ne[0], nb[0]): the trace wants NumPy order, so both are
// reversed, and the node's bytes are read through its strides (views and permutes are
// nodes too). Names are llama.cpp's node names (`attn_norm-0`, `Qcur-0`), a repeat is
// `NAME#k` (trace_writer.hpp), and a node llama.cpp leaves unnamed (ggml calls it
// `node_<index>`, an index that moves with settings) is named by its place after the last
// named node: `kqv_out-0+1`, as `audioparity capture llamacpp` names it.
//
// The context runs in the settings that compute what PyTorch computes in float32: flash
// attention off, an F32 KV cache, the whole prompt in one micro-batch (with fewer tokens
// per micro-batch each callback would see a slice). --defaults keeps llama.cpp's own
// (flash attention "auto", which on CPU casts K and V to F16; an F16 KV cache): what most
// programs run, and F16-sized differences from attention on.

#include <cstdint>
#include <cstring>
#include <iostream>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "ggml-backend.h"
#include "ggml.h"
#include "llama.h"
#include "trace_writer.hpp"

namespace {

using trace_dump::DType;
using trace_dump::Tensor;
using trace_dump::TraceWriter;

struct Dumper {
    TraceWriter trace;
    std::vector<std::pair<std::string, std::string>> ops;  // trace name -> ggml op
    std::string last_named = "start";  // the name unnamed nodes are counted after
    int after_named = 0;
    std::string error;                 // a callback must not throw into C

    std::string node_name(const char* ggml_name) {
        const std::string name = ggml_name;
        const bool unnamed = name.empty() || (name.rfind("node_", 0) == 0 &&
                             name.find_first_not_of("0123456789", 5) == std::string::npos);
        if (unnamed) return last_named + "+" + std::to_string(++after_named);
        last_named = name;
        after_named = 0;
        return name;
    }
};

// The eval callback: every node, read through its strides, widened to F32 by the writer.
bool dump_node(struct ggml_tensor* t, bool ask, void* user_data) {
    if (ask) return true;  // yes, we want every node's data
    auto* dumper = static_cast<Dumper*>(user_data);
    if (!dumper->error.empty()) return true;
    try {
        Tensor view;
        if (t->type == GGML_TYPE_F32) {
            view.type = DType::F32;
        } else if (t->type == GGML_TYPE_F16) {
            view.type = DType::F16;
        } else if (t->type == GGML_TYPE_BF16) {
            view.type = DType::BF16;
        } else {
            return true;  // integer positions, quantized data: not activations to compare
        }
        for (int i = ggml_n_dims(t); i-- > 0;) {  // NumPy order: outermost first
            view.shape.push_back(t->ne[i]);
            view.strides.push_back(static_cast<int64_t>(t->nb[i]));
        }
        // ggml_nbytes spans a view's strides; get() copies from the backend (CPU, GPU)
        view.storage = std::make_shared<std::vector<unsigned char>>(ggml_nbytes(t));
        ggml_backend_tensor_get(t, view.storage->data(), 0, view.storage->size());
        const std::string stored = dumper->trace.add(dumper->node_name(t->name), view);
        dumper->ops.emplace_back(stored, ggml_op_desc(t));
    } catch (const std::exception& e) {
        dumper->error = e.what();
    }
    return true;  // false would abort the graph
}

// `audioparity.meta`: the GGUF architecture as the root's class and each node's op as
// its "module" class, the way `audioparity capture llamacpp` writes them; compare reads
// them to apply its built-in llama.cpp -> transformers name map (Llama/Qwen family).
// The context settings, in the keys `capture llamacpp` writes ("exact": the parity ones).
std::string settings_json(const llama_context_params& p, bool exact) {
    const char* flash = p.flash_attn_type == LLAMA_FLASH_ATTN_TYPE_AUTO      ? "auto"
                        : p.flash_attn_type == LLAMA_FLASH_ATTN_TYPE_ENABLED ? "on"
                                                                             : "off";
    return std::string("{\"exact\":") + (exact ? "true" : "false") +
           ",\"flash_attn\":" + trace_dump::json_string(flash) +
           ",\"type_k\":" + trace_dump::json_string(ggml_type_name(p.type_k)) +
           ",\"type_v\":" + trace_dump::json_string(ggml_type_name(p.type_v)) +
           ",\"n_ubatch\":" + std::to_string(p.n_ubatch) + ",\"n_ctx\":" +
           std::to_string(p.n_ctx) + "}";
}

std::string meta_json(const llama_model* model, const Dumper& dumper,
                      const std::string& settings) {
    char arch[128] = "";
    llama_model_meta_val_str(model, "general.architecture", arch, sizeof arch);
    std::string modules = "{" + trace_dump::json_string("output") + ":" +
                          trace_dump::json_string(std::string("llama.cpp:") + arch);
    for (const auto& [name, op] : dumper.ops) {
        modules += "," + trace_dump::json_string(name) + ":" + trace_dump::json_string(op);
    }
    return "{\"source\":\"llama.cpp\",\"runtime\":\"llama_dump.cpp\",\"architecture\":" +
           trace_dump::json_string(arch) + ",\"settings\":" + settings +
           ",\"modules\":" + modules + "}}";
}

}  // namespace

int main(int argc, char** argv) {
    std::vector<std::string> args(argv + 1, argv + argc);
    bool defaults = false;
    std::vector<std::string> positional;
    for (const std::string& a : args) {
        if (a == "--defaults") {
            defaults = true;
        } else {
            positional.push_back(a);
        }
    }
    if (positional.size() < 3) {
        std::cerr << "usage: llama_dump MODEL.gguf OUT.safetensors ID [ID ...] [--defaults]\n";
        return 2;
    }
    std::vector<llama_token> tokens;
    for (size_t i = 2; i < positional.size(); ++i) {
        tokens.push_back(static_cast<llama_token>(std::stol(positional[i])));
    }
    const auto n_tokens = static_cast<uint32_t>(tokens.size());

    llama_log_set([](enum ggml_log_level, const char*, void*) {}, nullptr);  // quiet
    llama_backend_init();
    llama_model* model =
        llama_model_load_from_file(positional[0].c_str(), llama_model_default_params());
    if (model == nullptr) {
        std::cerr << "llama_dump: " << positional[0] << ": llama.cpp cannot load this model\n";
        return 2;
    }
    Dumper dumper;
    llama_context_params params = llama_context_default_params();
    params.n_ctx = n_tokens;
    if (!defaults) {
        params.n_batch = params.n_ubatch = n_tokens;            // one micro-batch
        params.flash_attn_type = LLAMA_FLASH_ATTN_TYPE_DISABLED;
        params.type_k = params.type_v = GGML_TYPE_F32;          // KV cache as computed
    }
    params.cb_eval = dump_node;
    params.cb_eval_user_data = &dumper;
    llama_context* ctx = llama_init_from_model(model, params);
    int status = ctx == nullptr ? 2 : 0;
    // Logits for every position, as the reference computes them: with llama_batch_get_one
    // only the last token's row would go through the last layer's tail.
    llama_batch batch = llama_batch_init(static_cast<int32_t>(n_tokens), 0, 1);
    for (uint32_t i = 0; i < n_tokens; ++i) {
        batch.token[i] = tokens[i];
        batch.pos[i] = static_cast<llama_pos>(i);
        batch.n_seq_id[i] = 1;
        batch.seq_id[i][0] = 0;
        batch.logits[i] = 1;
    }
    batch.n_tokens = static_cast<int32_t>(n_tokens);
    if (ctx != nullptr && llama_decode(ctx, batch) != 0) {
        std::cerr << "llama_dump: llama_decode failed (token ids outside the vocabulary?)\n";
        status = 2;
    }
    llama_batch_free(batch);
    if (status == 0 && !dumper.error.empty()) {
        std::cerr << "llama_dump: " << dumper.error << "\n";
        status = 2;
    }
    if (status == 0) {
        try {
            dumper.trace.save(positional[1],
                              meta_json(model, dumper, settings_json(params, !defaults)));
        } catch (const std::exception& e) {
            std::cerr << "llama_dump: " << e.what() << "\n";
            status = 2;
        }
    }
    if (ctx != nullptr) llama_free(ctx);
    llama_model_free(model);
    llama_backend_free();
    return status;
}
