// Bilingual (Chinese / English) labels of the page: result codes, checks, certificate fields,
// ID types (docs/FORMATS.md "Certificate fields") and skill levels in the wording of
// 人社鉴发〔2021〕1号 §三(一): "中文数字 + 级 / 等级名称", e.g. 一级 / 高级技师.

export const VERDICTS = {
  VALID: ['有效', 'Valid'],
  TAMPERED: ['内容被篡改', 'Tampered'],
  NOT_ANCHORED: ['未在链上锚定', 'Not anchored'],
  UNKNOWN_ISSUER: ['发证机构未备案', 'Unknown issuer'],
  KEY_NOT_VALID_AT_TIME: ['签名密钥在发证日无效', 'Key not valid on the issue date'],
  REVOKED: ['已撤销', 'Revoked'],
  SUSPENDED: ['已暂停', 'Suspended'],
  SUPERSEDED: ['已被更正证书取代', 'Superseded by a corrected certificate'],
  WRONG_NETWORK: ['不属于本注册网络', 'Wrong network'],
  MALFORMED: ['格式错误', 'Malformed'],
  UNTRUSTED_SNAPSHOT: ['快照未经成员省份签名', 'Untrusted snapshot'],
  STALE: ['快照已过期', 'Stale snapshot'],
  DISPUTED: ['有争议', 'Disputed'],
  EXPIRED: ['已过有效期', 'Expired'],
};

export const CHECK_LABELS = {
  format: ['格式', 'Format'],
  network: ['注册网络', 'Network'],
  trust: ['快照签名', 'Snapshot signatures'],
  commitment: ['内容承诺', 'Commitment'],
  issuer: ['发证机构备案', 'Issuer filed'],
  key: ['签名密钥有效期', 'Key validity'],
  signature: ['机构签名', 'Issuer signature'],
  inclusion: ['日志包含证明', 'Log inclusion proof'],
  anchor: ['链上锚定', 'Anchored checkpoint'],
  freshness: ['快照时效', 'Snapshot age'],
  status: ['证书状态', 'Certificate status'],
  rules: ['规则复核', 'Rules re-run'],
  findings: ['审计发现', 'Audit findings'],
  validity: ['证书有效期', 'Term of validity'],
};

export const OUTCOMES = {
  true: ['通过', 'passed'],
  false: ['未通过', 'failed'],
  null: ['未检查', 'skipped'],
};

export const FIELD_LABELS = {
  holder_name: ['姓名', 'Name'],
  id_type: ['证件类型', 'ID Type'],
  id_number: ['证件号码', 'ID No.'],
  occupation_name: ['职业名称', 'Occupation'],
  work_type_name: ['工种/职业方向', 'Job'],
  level: ['职业技能等级', 'Skill Level'],
  certificate_number: ['证书编号', 'Certificate No.'],
};

export const ID_TYPES = {
  resident_id: ['居民身份证', 'Resident ID card'],
  passport: ['护照', 'Passport'],
  hk_macao_permit: ['港澳居民来往内地通行证', 'Mainland Travel Permit for HK and Macao Residents'],
  taiwan_permit: ['台湾居民来往大陆通行证', 'Mainland Travel Permit for Taiwan Residents'],
  hmt_residence_permit: ['港澳台居民居住证', 'Residence Permit for HK, Macao and Taiwan Residents'],
  foreign_permanent_residence: ['外国人永久居留身份证', 'Foreign Permanent Resident ID Card'],
};

export const LEVELS = {
  1: ['一级/高级技师', 'Level 1 / Senior Technician'],
  2: ['二级/技师', 'Level 2 / Technician'],
  3: ['三级/高级工', 'Level 3 / Senior Worker'],
  4: ['四级/中级工', 'Level 4 / Intermediate Worker'],
  5: ['五级/初级工', 'Level 5 / Junior Worker'],
  0: ['不划分等级', 'Not graded'],
};

/** Each certificate type's title and subtitle (docs/FORMATS.md "Certificate types"). */
export const CERTIFICATE_TITLES = {
  skill_level: ['职业技能等级证书', 'Certificate of Occupational Skill Level'],
  special_ability: ['专项职业能力证书', 'Certificate of Special Vocational Ability'],
  vocational_qualification: ['职业资格证书', 'Certificate of Vocational Qualification'],
};

export const REDACTED = ['（持证人未出示）', '(withheld by the holder)'];
