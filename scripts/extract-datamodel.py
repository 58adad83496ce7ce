#!/usr/bin/env python3
"""Extract the classes the simulator serves from XAPI's xenapi.json.

Writes mocks/datamodel/datamodel.json: fields (name, type, qualifier, default),
messages (name, params, result, implicit, constructor-required fields) and enums.
Run from the repository root:  python3 scripts/extract-datamodel.py ../shared/reference/xenapi.json
The output is committed so the package does not depend on shared/ at run time.
"""
import json, re, sys

CLASSES = ['session', 'pool', 'host', 'SR', 'PBD', 'VDI', 'VBD', 'VIF', 'network', 'VM', 'task', 'event']

src = json.load(open(sys.argv[1] if len(sys.argv) > 1 else '../shared/reference/xenapi.json'))
out = {'classes': {}, 'enums': {}}
for c in src:
    for e in c['enums']:
        out['enums'][e['name']] = [v['name'] for v in e['values']]
for c in src:
    if c['name'] not in CLASSES:
        continue
    fields = []
    for f in c['fields']:
        item = {'name': f['name'], 'type': f['type'], 'qualifier': f['qualifier']}
        if 'default' in f:
            item['default'] = f['default']
        fields.append(item)
    messages = []
    for m in c['messages']:
        item = {'name': m['name'], 'params': [{'name': p['name'], 'type': p['type']} for p in m['params']],
                'result': m['result'][0], 'implicit': m['implicit']}
        if m['name'] == 'create' and m['implicit']:
            args = re.search(r'constructor args are: (.*?) \(\* = non-optional\)', m['description'], re.S)
            if args:
                names = [a.strip() for a in args.group(1).split(',')]
                item['ctor'] = {'fields': [n.rstrip('*') for n in names], 'required': [n.rstrip('*') for n in names if n.endswith('*')]}
        messages.append(item)
    out['classes'][c['name']] = {'fields': fields, 'messages': messages}
json.dump(out, open('mocks/datamodel/datamodel.json', 'w'), separators=(',', ':'), sort_keys=True)
print('wrote mocks/datamodel/datamodel.json:', ', '.join(f"{k} ({len(v['fields'])} fields, {len(v['messages'])} messages)" for k, v in out['classes'].items()))
