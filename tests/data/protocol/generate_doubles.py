"""Generates tests/data/protocol/double_format.json: [hex bits, text pydantic writes] pairs.

Re-recording (not needed to run the tests): python3 generate_doubles.py tests/data/protocol (pydantic 2.13).
"""
import os
import json, math, random, struct, sys
from pydantic import BaseModel

class M(BaseModel):
    x: float

def text(v):
    s = M(x=v).model_dump_json()
    assert s.startswith('{"x":') and s.endswith('}')
    return s[5:-1]

def bits(v):
    return struct.pack('>d', v).hex()

rng = random.Random(20250601)
values = [0.0, -0.0, 1.0, -1.0, 100.0, 1e15, 1e16, 1.2345e16, 12345.678, 2.5e-5, 1e-5, 1e-6, 5e-324, -5e-324,
          0.1, 0.3333333333333333, 1e-4, 0.00012, 1.5e-7, 999999999999999.9, 9999999999999998.0, 1e22, 1e21,
          1.7976931348623157e308, 2.2250738585072014e-308, 9007199254740992.0, 9007199254740993.0, 0.5, 123456789.0,
          float('nan'), float('inf'), float('-inf'), 1e-7, 1e100, 1e-100, 123e-20, 4.35, 0.1 + 0.2, 1/3, 2/3, 100.5,
          1e15 + 0.3, 1e16 - 2, 99999.99999, 0.000099999, 0.0000999, 12345678901234567890.0]
for _ in range(200):                      # random bit patterns
    v = struct.unpack('>d', rng.getrandbits(64).to_bytes(8, 'big'))[0]
    if math.isfinite(v):
        values.append(v)
for _ in range(200):                      # random decimals around every layout threshold
    e = rng.randint(-9, 20)
    v = rng.random() * 10 ** e
    if rng.random() < 0.3:
        v = round(v, rng.randint(0, 6))
    values.append(-v if rng.random() < 0.3 else v)
for _ in range(60):                       # integers and short decimals
    values.append(float(rng.randint(-10**17, 10**17)))
    values.append(rng.randint(0, 10**6) / 10 ** rng.randint(0, 8))

seen, out = set(), []
for v in values:
    b = bits(v)
    if b in seen:
        continue
    seen.add(b)
    out.append([b, text(v)])
with open(os.path.join(sys.argv[1], 'double_format.json'), 'w') as f:
    f.write('[\n' + ',\n'.join(json.dumps(p) for p in out) + '\n]\n')
print(len(out))
