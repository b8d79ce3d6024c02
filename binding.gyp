{
  "includes": ["native/sources.gypi"],
  "target_defaults": {
    "cflags": ["-fvisibility=hidden", "-O2", "-Wall", "-Wextra", "-Wno-unused-parameter"],
    "cflags_c": ["-std=gnu11"],
    "defines": ["_GNU_SOURCE"]
  },
  "targets": [
    {
      "target_name": "sysfault",
      "sources": ["native/binding/addon.cc", "<@(core_sources)", "<@(monitor_sources)"],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "cflags_cc": ["-std=c++17", "-fexceptions"],
      "cflags_cc!": ["-fno-exceptions"],
      "defines": ["NAPI_VERSION=8", "NODE_ADDON_API_DISABLE_DEPRECATED", "NODE_API_NO_EXTERNAL_BUFFERS_ALLOWED"],
      "libraries": ["-lpthread"]
    },
    {
      "target_name": "libsysfault-preload",
      "type": "shared_library",
      "product_name": "libsysfault-preload",
      "product_extension": "so",
      "product_dir": "<(PRODUCT_DIR)",
      "defines!": ["_LARGEFILE_SOURCE", "_FILE_OFFSET_BITS=64"],
      "sources": ["<@(preload_sources)", "<@(core_sources)"],
      "cflags": ["-fPIC", "-ftls-model=initial-exec", "-fno-stack-protector", "-fomit-frame-pointer"],
      "configurations": { "Release": { "cflags!": ["-fno-omit-frame-pointer"] } },
      "ldflags": ["-Wl,-z,now"],
      "libraries": ["-ldl"]
    },
    {
      "target_name": "sysfault-shim",
      "type": "executable",
      "product_dir": "<(PRODUCT_DIR)",
      "sources": ["<@(shim_sources)", "<@(goagent_loader_sources)", "<@(core_sources)"]
    },
    {
      "target_name": "libsysfault-goagent",
      "type": "shared_library",
      "product_name": "libsysfault-goagent",
      "product_extension": "so",
      "product_dir": "<(PRODUCT_DIR)",
      "defines!": ["_LARGEFILE_SOURCE", "_FILE_OFFSET_BITS=64"],
      "sources": ["<@(goagent_sources)"],
      "cflags": [
        "-fPIC", "-ffreestanding", "-fno-builtin", "-fno-tree-loop-distribute-patterns", "-mgeneral-regs-only",
        "-fno-stack-protector", "-fno-stack-clash-protection", "-U_FORTIFY_SOURCE", "-ffunction-sections",
        "-fdata-sections"
      ],
      "ldflags": [
        "-nostdlib", "-Wl,--gc-sections", "-Wl,-u,sf_go_entry", "-Wl,-u,sf_agent_conf",
        "-Wl,-z,max-page-size=4096", "-Wl,-z,norelro"
      ]
    },
    {
      "target_name": "sysfault-demo",
      "type": "executable",
      "product_dir": "<(PRODUCT_DIR)",
      "sources": ["native/demo/demo.c"]
    }
  ]
}
