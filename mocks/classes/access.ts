import type { Handlers } from '../context.js'

/**
 * session.get_all_subject_identifiers and the role queries (xapi_session.ml, xapi_role.ml).
 * The simulator authenticates only its local superuser, so no session has an external
 * subject; roles are the six of rbac_static.ml (inventory-hardware.ts) with no
 * permissions listed.
 */
export const accessHandlers: Handlers = {
  // Only externally authenticated sessions count; a local superuser session has no subject.
  'session.get_all_subject_identifiers': (c) => [...new Set(c.store.find('session', (s) => s.is_local_superuser !== true && s.auth_user_sid !== '').map(([, s]) => String(s.auth_user_sid)))],
  'role.get_permissions': (c, [ref]) => c.store.get('role', String(ref)).subroles,
  'role.get_permissions_name_label': (c, [ref]) => (c.store.get('role', String(ref)).subroles as string[]).map((r) => String(c.store.get('role', r).name_label)),
  'role.get_by_permission': (c, [perm]) => {
    c.store.get('role', String(perm))
    return c.store.find('role', (r) => (r.subroles as string[]).includes(String(perm))).map(([ref]) => ref)
  },
  'role.get_by_permission_name_label': (c, [label]) => {
    const perm = c.store.find('role', (r) => r.name_label === label)[0]
    return perm ? c.store.find('role', (r) => (r.subroles as string[]).includes(perm[0])).map(([ref]) => ref) : []
  },
}
