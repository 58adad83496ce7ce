/**
 * Disk size for the sample HVM image in tests that provision or roll it out: the
 * smallest it allows (src/image/sample-hvm-image.ts), half its 128 MiB default. Every run
 * maps the whole image and a rollout hashes all of it, holes included
 * (src/fleet/image-hash.ts): 128 MiB cost ~110 ms of CPU per rollout for the hash alone (~0.9 ms per MiB).
 */
export const SMALL_HVM = 64 * 1024 * 1024

/**
 * Disk size for the sample PV image in tests that provision it: a quarter of its 64 MiB
 * default, room for its ~3 MiB kernel and UFS (the fleet tests ran on it first). Every
 * run, spawned or in-process, maps the whole image.
 */
export const SMALL_PV = 16 * 1024 * 1024

/**
 * Kernel size for sample images in tests where the kernel is only carried, not examined
 * (the kill -9 points): 128 KiB instead of the sample's ~3 MiB of random bytes, which
 * every run uploads, the preflight and the simulator's pygrub read, and xz cannot shrink.
 */
export const SMALL_KERNEL = 128 * 1024
