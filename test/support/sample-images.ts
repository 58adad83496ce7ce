/**
 * Disk size for the sample HVM image in tests that provision or roll it out: the
 * smallest it allows (src/image/sample-hvm-image.ts), half its 128 MiB default. Every run
 * maps the whole image and a rollout hashes all of it, holes included
 * (src/fleet/image-hash.ts): 128 MiB cost ~80 ms of CPU per rollout for the hash alone.
 */
export const SMALL_HVM = 64 * 1024 * 1024
