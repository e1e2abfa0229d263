// Each check's detail (verify.js writes it in English) in Chinese and English, for the page.
// A detail that carries a rule id ("field: message [rule.id]", a FormatError) is explained from
// the rule-id catalogue (rules.js); the others are the fixed sentences of verify.js, matched
// below; a detail matched by neither is shown as it is, after the Chinese meaning of its check,
// so no detail is ever English only. Province codes are shown by name, block times in China time.

import { explain, explainCheck, explainReason, provinceName } from './rules.js';

const STATUS_ZH = { active: '有效', revoked: '已撤销', suspended: '已暂停', superseded: '已被取代' };
const KIND_ZH = { issue: '发证', correct: '更正' };
const TYPE_ZH = {
  skill_level: '职业技能等级证书',
  special_ability: '专项职业能力证书',
  vocational_qualification: '职业资格证书',
};

/** "广东省 (44)" / "Guangdong (44)": a province by name, with its code. */
export function province(code) {
  const [zh, en] = provinceName(code);
  return [`${zh}（${code}）`, `${en} (${code})`];
}

/** Unix seconds as China Standard Time, zone stated: ["2026-01-01 08:00:00 北京时间", "... UTC+8"]. */
export function chinaTime(seconds) {
  if (!(Number(seconds) >= 0 && Number(seconds) <= 253402271999)) {
    return [`unix time ${seconds}`, `unix time ${seconds}`];
  }
  const shifted = new Date((Number(seconds) + 8 * 3600) * 1000).toISOString();
  const text = `${shifted.slice(0, 10)} ${shifted.slice(11, 19)}`;
  return [`${text} 北京时间（UTC+8）`, `${text} China time (UTC+8)`];
}

/** Each pattern: [regular expression over the English detail, (match) => [zh, en]]. */
const PATTERNS = [
  [
    /^bundle v(\d+) \((\w+)\), (\w+) entry(, with cosignatures)?$/,
    (m, d) => [
      `第 ${m[1]} 版证书包（${TYPE_ZH[m[2]] ?? m[2]}），${KIND_ZH[m[3]] ?? m[3]}条目${m[4] ? '，附检查点联署签名' : ''}`,
      d,
    ],
  ],
  [/^chain (\d+),? contract (0x[0-9a-f]+)$/, (m, d) => [`链 ${m[1]}，合约 ${m[2]}`, d]],
  [/^no trust root: the snapshot is taken as given$/, (m, d) => ['未提供信任根：快照按原样采用', d]],
  [/^taken (.+) \(no maximum age given\)$/, (m, d) => [`快照生成于 ${m[1]}（未设最长时限）`, d]],
  [/^(\w+): no term of validity$/, (m, d) => [`${TYPE_ZH[m[1]] ?? m[1]}：无有效期限`, d]],
  [
    /^(\w+): valid until (\d+) \(5 years\)$/,
    (m) => {
      const [zh, en] = chinaTime(m[2]);
      return [`${TYPE_ZH[m[1]] ?? m[1]}：有效期（5 年）至 ${zh}`, `${m[1]}: valid until ${en} (5 years)`];
    },
  ],
  [
    /^(\w+) certificate expired at (\d+) \(5 years\)$/,
    (m) => {
      const [zh, en] = chinaTime(m[2]);
      return [`${TYPE_ZH[m[1]] ?? m[1]}已于 ${zh} 过期（有效期 5 年）`, `${m[1]} certificate expired at ${en} (5 years)`];
    },
  ],
  [
    /^bundle is for chain (\d+) contract (0x[0-9a-f]+), trust source is chain (\d+) contract (0x[0-9a-f]+)$/,
    (m, d) => [`证书包属于链 ${m[1]} 合约 ${m[2]}，信任快照为链 ${m[3]} 合约 ${m[4]}`, d],
  ],
  [/^[0-9a-f]{64}$/, (m, d) => [`内容承诺 ${d}`, `commitment ${d}`]],
  [
    /^computed commitment ([0-9a-f]+) differs from the entry's ([0-9a-f]+)$/,
    (m, d) => [`算出的内容承诺 ${m[1]} 与日志条目的 ${m[2]} 不同`, d],
  ],
  [/^field (\w+) differs from the log entry$/, (m, d) => [`字段 ${m[1]} 与日志条目不同`, d]],
  [/^anchor province differs from the entry's province$/, (m, d) => ['锚定所属省份与日志条目的省份不同', d]],
  [/^organisation (\S+) is not filed$/, (m, d) => [`机构 ${m[1]} 未备案`, d]],
  [
    /^organisation (\S+) is filed by province (\d+), not (\d+)$/,
    (m) => {
      const [by, not] = [province(m[2]), province(m[3])];
      return [
        `机构 ${m[1]} 由${by[0]}备案，不是${not[0]}`,
        `organisation ${m[1]} is filed by ${by[1]}, not ${not[1]}`,
      ];
    },
  ],
  [
    /^(\S+) filed by province (\d+) \((\w+)\)$/,
    (m) => {
      const where = province(m[2]);
      return [`${m[1]} 由${where[0]}备案（${m[3]}）`, `${m[1]} filed by ${where[1]} (${m[3]})`];
    },
  ],
  [/^organisation has no key (\S+)$/, (m, d) => [`机构没有密钥 ${m[1]}`, d]],
  [/^key (\S+) is (\S+), signature is (\S+)$/, (m, d) => [`密钥 ${m[1]} 为 ${m[2]}，签名为 ${m[3]}`, d]],
  [/^key (\S+) is not valid on the issue date (\S+)$/, (m, d) => [`密钥 ${m[1]} 在发证日期 ${m[2]} 无效`, d]],
  [/^key (\S+) \((\S+)\) valid on (\S+)$/, (m, d) => [`密钥 ${m[1]}（${m[2]}）在 ${m[3]} 有效`, d]],
  [/^signature does not verify: (.*)$/s, (m, d) => [`签名验证不通过：${m[1]}`, d]],
  [/^(\S+) signature by key (\S+)$/, (m, d) => [`密钥 ${m[2]} 的 ${m[1]} 签名`, d]],
  [/^proof tree size differs from the anchored tree size$/, (m, d) => ['证明的树大小与锚定的树大小不同', d]],
  [/^inclusion proof fails: (.*)$/s, (m, d) => [`包含证明不通过：${m[1]}`, d]],
  [/^leaf (\d+) of (\d+)$/, (m, d) => [`共 ${m[2]} 个叶中的第 ${m[1]} 个`, d]],
  [
    /^no checkpoint (\d+) of province (\d+) as of block (\d+)$/,
    (m) => {
      const where = province(m[2]);
      return [
        `截至区块 ${m[3]}，${where[0]}没有第 ${m[1]} 号检查点`,
        `no checkpoint ${m[1]} of ${where[1]} as of block ${m[3]}`,
      ];
    },
  ],
  [/^checkpoint (\d+) differs in (.*)$/, (m, d) => [`检查点 ${m[1]} 的 ${m[2]} 不同`, d]],
  [
    /^checkpoint was anchored after the verification time (\d+)$/,
    (m) => {
      const when = chinaTime(m[1]);
      return [`检查点的锚定晚于核验时间 ${when[0]}`, `checkpoint was anchored after the verification time ${when[1]}`];
    },
  ],
  [/^checkpoint (\d+) at block (\d+)$/, (m, d) => [`检查点 ${m[1]}，区块 ${m[2]}`, d]],
  [/^active$/, (m, d) => ['有效，无状态变更记录', d]],
  [
    /^(\w+) \(reason (\d+)\) at block (\d+)(?:, successor ([0-9a-f]+))?$/,
    (m, d) => {
      const reason = explainReason(m[2]) ?? explain('reason.unknown');
      const why = [`：${reason.zh}`, `: ${reason.en}`];
      const successor = m[4] ? `，更正后的证书 ${m[4]}` : '';
      return [
        `区块 ${m[3]} 起${STATUS_ZH[m[1]] ?? m[1]}，原因代码 ${m[2]}${why[0]}${successor}`,
        `${d.replace(`(reason ${m[2]})`, `(reason ${m[2]}${why[1]})`)}`,
      ];
    },
  ],
  [/^(\w+) at block (\d+)$/, (m, d) => [`区块 ${m[2]} 起${STATUS_ZH[m[1]] ?? m[1]}`, d]],
  [/^skipped$/, (m, d) => ['前一项检查未通过，未检查', d]],
];

/** The detail of a check in [zh, en], and the rule id it carries (or null). */
export function explainDetail(check) {
  const detail = String(check.detail ?? '');
  const carried = /\[([a-z][a-z0-9_]*(?:\.[a-z0-9_*]+)+)\]$/.exec(detail);
  if (carried) {
    const entry = explain(carried[1]);
    if (entry) {
      const field = detail.split(':', 1)[0];
      return { zh: `${field}：${entry.zh}`, en: detail, rule: carried[1] };
    }
  }
  for (const [pattern, render] of PATTERNS) {
    const match = pattern.exec(detail);
    if (match) {
      const [zh, en] = render(match, detail);
      return { zh, en, rule: null };
    }
  }
  const meaning = explainCheck(check.name);
  return { zh: meaning ? `（${meaning.zh}）${detail}` : detail, en: detail, rule: null };
}
