// Finds and loads the native engine by node-gyp-build's rule: a source build
// (build/Release) first, else the package's prebuilt one
// (prebuilds/<platform>-<arch>/). Each way this can fail becomes one line that
// says what to do; the install script and the runtime share it.
"use strict";
const { existsSync } = require("node:fs");
const { join } = require("node:path");
const nodeGypBuild = require("node-gyp-build");

class AddonError extends Error {}

/** "linux-x64 (glibc 2.36)": the platform a prebuild was looked for. */
function platformName() {
  const glibc = process.platform === "linux" ? process.report?.getReport().header.glibcVersionRuntime : undefined;
  const libc = process.platform !== "linux" ? "" : glibc ? ` (glibc ${glibc})` : " (musl)";
  return `${process.platform}-${process.arch}${libc}`;
}

/** How to get an engine built here: in a checkout, the build script; installed, npm rebuild. */
function buildAdvice(root) {
  const how = existsSync(join(root, ".git")) ? "`npm run build`" : "`npm rebuild vnfrun --build-from-source`";
  return `apt-get install g++ make python3, then ${how}`;
}

/** The engine file node-gyp-build would load, or null when there is none. */
function locate(root) {
  try {
    return nodeGypBuild.path(root);
  } catch {
    return null;
  }
}

function missingLine(root) {
  return `no native engine for ${platformName()}: no prebuild in ${join(root, "prebuilds")} and no source build in ${join(root, "build", "Release")}; to build it: ${buildAdvice(root)}`;
}

/** The loader's reason, in one line, without the file name it repeats. */
function loaderReason(e, file) {
  const first = String((e && e.message) || e).split("\n")[0];
  return first.startsWith(`${file}: `) ? first.slice(file.length + 2) : first;
}

function failedLine(root, file, e) {
  return `cannot load the native engine ${file}: ${loaderReason(e, file)}; to build one for this machine: ${buildAdvice(root)}`;
}

/** Load the engine of the package at `root`, or throw an AddonError with one line. */
function load(root) {
  const file = locate(root);
  if (!file) throw new AddonError(missingLine(root));
  try {
    return require(file);
  } catch (e) {
    throw new AddonError(failedLine(root, file, e));
  }
}

module.exports = { AddonError, platformName, locate, load, missingLine, failedLine };
