"""Moves every running VM to the next host by Async.VM.pool_migrate, as xapi's SDK example
permute.py does (written anew for Python 3): a rotation of the hosts the VMs run on,
each migration a task that is polled, checked and destroyed."""
import sys, time
import XenAPI

url, user, password, rounds = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
session = XenAPI.Session(url)
session.xenapi.login_with_password(user, password, "1.0", "xcp-provision-permute")
try:
    x = session.xenapi
    for i in range(rounds):
        running = [(ref, rec["resident_on"]) for ref, rec in x.VM.get_all_records().items()
                   if not rec["is_a_template"] and not rec["is_control_domain"] and rec["power_state"] == "Running"]
        vms = [v for v, _ in running]
        hosts = [h for _, h in running]
        hosts = hosts[-1:] + hosts[:-1]
        # With one VM the rotation is the identity: move it to another host of the pool.
        if len(vms) == 1:
            others = [h for h in x.host.get_all() if h != hosts[0]]
            hosts = others[:1] or hosts
        tasks = [x.Async.VM.pool_migrate(vm, host, {"live": "true"}) for vm, host in zip(vms, hosts)]
        records = {}
        while True:
            records = {t: x.task.get_record(t) for t in tasks}
            if all(r["status"] != "pending" for r in records.values()):
                break
            time.sleep(0.2)
        bad = [r for r in records.values() if r["status"] != "success"]
        if bad:
            raise SystemExit("migration failed: %r" % [r["error_info"] for r in bad])
        for t in tasks:
            x.task.destroy(t)
        print("round", i + 1, [x.host.get_name_label(x.VM.get_resident_on(vm)) for vm in vms])
finally:
    session.xenapi.session.logout()
