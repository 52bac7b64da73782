// Prints netmap's include directory for binding.gyp when the build is asked
// for netmap (NETMAP_INCLUDE=dir with net/netmap_user.h, or NETMAP_SRC=a
// netmap checkout), and nothing otherwise: the driver then builds without it.
const { existsSync } = require("node:fs");
const { join, resolve } = require("node:path");

const dir = process.env.NETMAP_INCLUDE || (process.env.NETMAP_SRC ? join(process.env.NETMAP_SRC, "sys") : "");
if (dir) {
  if (existsSync(join(dir, "net", "netmap_user.h"))) console.log(resolve(dir));
  else console.error(`warning: no net/netmap_user.h under ${dir}: building without netmap`);
}
