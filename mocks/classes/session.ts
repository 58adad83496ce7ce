import { fault } from '../fault.js'
import type { Handlers } from '../context.js'
import { xapiNow } from '../time.js'

export const sessionHandlers: Handlers = {
  'session.login_with_password': (c, [user, password, , originator]) => {
    const { credentials, store } = c.sim
    // A pool member refuses logins and names its coordinator, before looking at the password.
    const master = String(store.get('pool', c.sim.pool).master)
    if (master !== c.sim.host) throw fault('HOST_IS_SLAVE', String(store.get('host', master).address))
    if (user !== credentials.user || password !== credentials.password) {
      throw fault('SESSION_AUTHENTICATION_FAILED', String(user), 'Authentication failure')
    }
    return store.create('session', {
      this_host: c.sim.host,
      last_active: xapiNow(),
      validation_time: xapiNow(),
      pool: false,
      is_local_superuser: true,
      auth_user_name: String(user),
      originator: typeof originator === 'string' ? originator : '',
    })
  },
  'session.logout': (c) => c.store.destroy('session', c.session),
}
