{
  "targets": [{
    "target_name": "vnfrun",
    "sources": [
      "native/binding.cc",
      "native/core.cc",
      "native/counters.cc",
      "native/engine.cc",
      "native/pool.cc",
      "native/port.cc",
      "native/ports/gen.cc",
      "native/ports/pcap.cc",
      "native/ports/pcap_format.cc",
      "native/ports/pipe.cc",
      "native/ports/sink.cc"
    ],
    "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
    "defines": ["NAPI_VERSION=8", "NODE_ADDON_API_DISABLE_DEPRECATED"],
    "cflags!": ["-fno-exceptions"],
    "cflags_cc!": ["-fno-exceptions"],
    "cflags_cc": ["-std=c++17", "-O3", "-fexceptions", "-Wall", "-Wextra", "-Wno-unused-parameter"]
  }]
}
