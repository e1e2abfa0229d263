// The rules a verifier re-runs on a bundle's public fields (docs/FORMATS.md "Verification result
// codes", result DISPUTED): node/core/rules/disputes.py line for line; the shared vectors
// (tests/vectors/trust.json) hold both to the same answers.

import { RULES } from './rules.js';

/** Working days after the issue date within which a certificate is uploaded (data guide art. 10). */
export const UPLOAD_WORKING_DAYS = 30;
const NO_WORK_TYPE = '--';

function dispute(kind, detail) {
  return { kind, source: 'rules', detail, auditor: null, checkpoint_index: null };
}

function pad(n, width = 2) {
  return String(n).padStart(width, '0');
}

function isoOf(date) {
  return `${pad(date.getUTCFullYear(), 4)}-${pad(date.getUTCMonth() + 1)}-${pad(date.getUTCDate())}`;
}

/** The China (UTC+8) date of a unix time, as ``YYYY-MM-DD``. */
export function chinaDateOfUnix(seconds) {
  return isoOf(new Date((seconds + 8 * 3600) * 1000));
}

function dateOf(text) {
  return new Date(`${text}T00:00:00Z`);
}

/** The same day ``months`` months later, clamped to the month's end (Civil Code art. 202). */
export function addMonths(text, months) {
  const date = dateOf(text);
  const index = date.getUTCFullYear() * 12 + date.getUTCMonth() + months;
  const year = Math.floor(index / 12);
  const month = index % 12;
  const last = new Date(Date.UTC(year, month + 1, 0)).getUTCDate();
  return isoOf(new Date(Date.UTC(year, month, Math.min(date.getUTCDate(), last))));
}

function nextDay(text) {
  const date = dateOf(text);
  date.setUTCDate(date.getUTCDate() + 1);
  return isoOf(date);
}

/** Positions 14-16 of the certificate number against the issue year and the level. */
export function numberDispute(number, issueDate, level) {
  const year = number.slice(13, 15);
  const digit = number.slice(15, 16);
  if (year !== issueDate.slice(2, 4) || digit !== String(level)) {
    return dispute(
      'entry.number_mismatch',
      `certificate number positions 14-16 (${number.slice(13, 16)}) do not carry the issue year ` +
        `${issueDate.slice(0, 4)} and level ${level}`,
    );
  }
  return null;
}

function isLateReason(reason) {
  const entry = RULES[`reason.${reason}`];
  return reason >= 600 && reason < 700 && entry !== undefined;
}

/** The deadline rules; returns [dispute or null, what was judged]. */
export function deadlineDispute(issueDate, anchoredAt, reason, calendar) {
  const day = chinaDateOfUnix(anchoredAt);
  if (issueDate > day) {
    return [dispute('deadline.issue_after_anchor', `issued ${issueDate}, after the day it was anchored (${day})`), ''];
  }
  const limit = addMonths(issueDate, 6);
  if (day > limit) {
    return [
      dispute(
        'deadline.over_six_months',
        `issued ${issueDate}, anchored ${day}: more than six months later (last day ${limit})`,
      ),
      '',
    ];
  }
  if (calendar === null || !(calendar.covers(issueDate) && calendar.covers(day))) {
    return [null, `anchored ${day}, within six months (working days not judged)`];
  }
  let elapsed = 0;
  let current = issueDate;
  while (current < day) {
    current = nextDay(current);
    if (calendar.isWorkingDay(current)) elapsed += 1;
  }
  const onTime = elapsed < UPLOAD_WORKING_DAYS || (elapsed === UPLOAD_WORKING_DAYS && calendar.isWorkingDay(day));
  if (onTime) return [null, `anchored ${day}, ${elapsed} working days after issue`];
  if (reason === null) {
    return [
      dispute(
        'deadline.late',
        `anchored ${day}, ${elapsed} working days after issue (limit ${UPLOAD_WORKING_DAYS}), without a late-upload reason`,
      ),
      '',
    ];
  }
  if (!isLateReason(reason)) {
    return [dispute('deadline.late_reason', `reason ${reason} is not a late-upload reason (6xx)`), ''];
  }
  return [null, `anchored ${day}, late with reason ${reason}`];
}

/** The certificate against the filed scope items, as screening's flag_scope. */
export function scopeDispute(occupationCode, workTypeCode, level, items) {
  const filed = new Map();
  for (const item of items) {
    const code = item.workTypeCode ?? item.occupationCode;
    if (!filed.has(code)) filed.set(code, new Set());
    for (const l of item.levels) filed.get(code).add(l);
  }
  if (filed.get(occupationCode)?.has(level)) return null;
  if (workTypeCode !== NO_WORK_TYPE && filed.get(workTypeCode)?.has(level)) return null;
  const subject = workTypeCode === NO_WORK_TYPE ? occupationCode : workTypeCode;
  return dispute('scope.outside', `occupation ${subject} at level ${level} was not in the organisation's filed scope`);
}
