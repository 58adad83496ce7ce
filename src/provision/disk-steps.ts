import * as VDI from '../xapi/vdi.js'
import { uploadImage } from '../upload/upload.js'
import { verifyVdi } from '../upload/verify/verify.js'
import { SEGMENT_BYTES, splitSegments } from '../upload/resume/segments.js'
import { findPartialVdis, markOf, VM_KEY } from './partial-vdi.js'
import { INCOMPLETE_KEY } from './leftovers.js'
import { need, vdiName, type Step } from './step-types.js'

/** The disk half of the HOWTO: a VDI, the image in it, and (on request) proof that it arrived. */
export const DISK_STEPS = [
  {
    id: 'vdi.create',
    title: 'Create the VDI',
    calls: (c) =>
      // The lookups found the unfinished uploads already (run.ts, `partials`); a caller that runs this step alone reads them here.
      c.partials?.resume
        ? [`resume VDI ${c.partials.resume.record.uuid}, an unfinished upload of this image for "${c.vmName}": nothing to create`]
        : [
            ...(c.partials ? [] : [`VDI.get_all_records (a VDI tagged ${VM_KEY}="${c.vmName}" with an unfinished upload of this image is resumed instead)`]),
            `VDI.create {name_label: "${vdiName(c.recipe, c.vmName)}", SR: ${c.targets.sr.record.uuid}, virtual_size: ${c.recipe.vdi.virtual_size}, type: ${c.recipe.vdi.type}}`,
          ],
    async run(c) {
      const found = c.partials ?? (await findPartialVdis(c.x, { vmName: c.vmName, sr: c.targets.sr.ref, virtualSize: c.recipe.vdi.virtual_size, map: c.map }))
      for (const v of found.stale) {
        c.onEvent?.({ type: 'warning', message: `VDI ${v.uuid} holds an unfinished upload of another image for "${c.vmName}"; it is left alone (xe vdi-destroy uuid=${v.uuid} removes it)` })
      }
      if (found.resume) {
        // Adopted as if created by this run: a later failure rolls it back like a fresh one.
        c.state.vdi = found.resume.ref
        c.state.checkpoint = found.resume.checkpoint
        c.state.created.push({ cls: 'VDI', ref: found.resume.ref, label: found.resume.record.name_label })
        return
      }
      const label = vdiName(c.recipe, c.vmName)
      const ref = await VDI.create(c.x, {
        name_label: label,
        name_description: `Boot disk of ${c.vmName}, created by xcp-provision`,
        SR: c.targets.sr.ref,
        virtual_size: c.recipe.vdi.virtual_size,
        type: c.recipe.vdi.type,
        sharable: false,
        read_only: false,
        other_config: { [VM_KEY]: markOf(c.vmName), [INCOMPLETE_KEY]: 'true' },
      })
      c.state.vdi = ref
      c.state.created.push({ cls: 'VDI', ref, label })
    },
  },
  {
    id: 'upload',
    title: 'Upload the image',
    calls: (c) => {
      const segs = splitSegments(c.map, c.upload?.segmentBytes)
      return [
        'VDI.get_record (its size, and the checkpoint of an earlier run)',
        'PUT /import_raw_vdi?format=raw, empty (which host serves the SR? on a 302: host.get_all_records, and host.get_server_certificate when pinned)',
        `per segment (${segs.length} of ~${(c.upload?.segmentBytes ?? SEGMENT_BYTES) / 2 ** 20} MiB of data): task.create, PUT /import_raw_vdi?format=raw&chunked, event.from, task.destroy`,
        // Checkpoints follow the hashing of the image, which runs beside the first segments (checkpointer.ts).
        ...(segs.length > 1
          ? ["between segments (the checkpoint, when the image's identity is hashed in time; the identity with the first): VDI.remove_from_other_config / VDI.add_to_other_config"]
          : []),
        `(${c.map.regions.length} data regions, ${c.map.dataBytes} of ${c.map.size} bytes)`,
      ]
    },
    async run(c) {
      c.state.upload = await uploadImage(c.x, {
        vdi: need(c.state.vdi, 'the VDI'),
        image: c.image,
        map: c.map,
        ...(c.upload ? { tuning: c.upload } : {}),
        signal: c.signal,
        onProgress: c.onUpload,
        onEvent: (e) => c.onEvent?.(e),
        onCheckpoint: (cp) => (c.state.checkpoint = cp),
        keepHashes: c.verify,
      })
      c.state.checkpoint = undefined
    },
  },
  {
    id: 'verify',
    title: 'Verify the upload (read the VDI back)',
    calls: (c) => (c.verify ? ['task.create', `GET /export_raw_vdi?format=raw (first ${c.map.size} bytes, compared per segment)`, 'task.destroy'] : []),
    skip: (c) => !c.verify,
    async run(c) {
      // The whole image, segment by segment, whether this run sent all of it or resumed.
      const segments = splitSegments(c.map, c.upload?.segmentBytes)
      c.state.verified = await verifyVdi(c.x, { vdi: need(c.state.vdi, 'the VDI'), map: c.map, segments, signal: c.signal, target: c.state.upload?.target, onProgress: c.onVerify })
    },
  },
] as const satisfies readonly Step[]
