// The query panel of the page (docs/WEB.md, docs/SHARING.md): the two-of-three search of this
// node's API, which answers about any province's certificate (a certificate number goes to the
// province it names, a name and ID number to every member province), and the holder's own
// bundle with all three fields or a one-time code, the fields to show chosen by the holder.
// Only what the API returns is shown (the ID number masked for the public); values are written
// with textContent only. The holder's bundle is handed to the verifier on this page.

import { province as provinceOf } from './details.js';
import { LEVELS } from './labels.js';

const $ = (id) => document.getElementById(id);

export const STATUS_LABELS = {
  active: ['有效', 'active'],
  revoked: ['已撤销', 'revoked'],
  suspended: ['已暂停', 'suspended'],
  superseded: ['已被更正证书取代', 'superseded by a corrected certificate'],
};

/** The personal and descriptive fields a holder may leave out of a bundle. */
export const REDACTABLE = {
  holder_name: ['姓名', 'Name'],
  id_type: ['证件类型', 'ID type'],
  id_number: ['证件号码', 'ID number'],
  occupation_name: ['职业名称', 'Occupation'],
  work_type_name: ['工种/职业方向', 'Job'],
  organisation_name: ['发证机构', 'Issuing organisation'],
};

function text(tag, value, className) {
  const element = document.createElement(tag);
  element.textContent = value;
  if (className) element.className = className;
  return element;
}

function pair([zh, en]) {
  const span = document.createElement('span');
  span.append(`${zh} `, text('span', en, 'en'));
  return span;
}

function say(pairText, extra = '', stateName = 'ok') {
  const status = $('query-status');
  status.dataset.state = stateName;
  status.replaceChildren(pair([pairText[0], pairText[1] + extra]));
}

function queryValues() {
  return {
    certificate_number: $('q-number').value.trim(),
    name: $('q-name').value.trim(),
    id_number: $('q-id').value.trim(),
  };
}

async function problemOf(response) {
  try {
    const body = await response.json();
    return ` (${response.status} ${body.rule ?? ''}: ${body.detail ?? ''})`;
  } catch {
    return ` (HTTP ${response.status})`;
  }
}

function matchRow(match) {
  const row = document.createElement('tr');
  row.dataset.province = match.province;
  row.dataset.status = match.status;
  const certificate = match.certificate ?? {};
  const level = LEVELS[certificate.level];
  const cells = [
    (() => { const td = document.createElement('td'); td.append(pair(provinceOf(match.province))); return td; })(),
    text('td', match.certificate_number),
    (() => { const td = document.createElement('td'); td.append(pair(STATUS_LABELS[match.status] ?? [match.status, match.status])); return td; })(),
    text('td', certificate.holder_name ?? ''),
    text('td', certificate.id_number ?? ''),
    text('td', certificate.occupation_name ?? ''),
    text('td', level ? level[0] : ''),
    text('td', match.superseded_by ? `${match.superseded_by.slice(0, 16)}…` : ''),
  ];
  cells[3].dataset.field = 'holder_name';
  cells[4].dataset.field = 'id_number';
  row.append(...cells);
  return row;
}

async function search() {
  const values = queryValues();
  const given = Object.entries(values).filter(([, v]) => v);
  if (given.length < 2) {
    say(['请填写证书编号、姓名、证件号码中的至少两项', 'Give at least two of certificate number, name and ID number'], '', 'error');
    return;
  }
  const params = new URLSearchParams(given);
  say(['查询中…', 'Searching…']);
  let response;
  try {
    response = await fetch(`/v1/certificates/search?${params}`, { headers: { accept: 'application/json' } });
  } catch (exc) {
    say(['无法连接本节点', 'Cannot reach this node'], `: ${exc.message}`, 'error');
    return;
  }
  if (!response.ok) {
    say(['查询被拒绝', 'The search was refused'], await problemOf(response), 'error');
    return;
  }
  const body = await response.json();
  $('matches').tBodies[0].replaceChildren(...body.matches.map(matchRow));
  $('matches').hidden = body.matches.length === 0;
  const unanswered = Object.entries(body.unanswered ?? {});
  const missing = $('unanswered');
  missing.replaceChildren(...unanswered.map(([code, why]) => {
    const item = document.createElement('li');
    item.dataset.province = code;
    const [zh, en] = provinceOf(code);
    item.append(pair([`${zh}未答复`, `${en} did not answer`]), text('span', `: ${why}`));
    return item;
  }));
  const asked = (body.asked ?? []).join(', ');
  say(
    body.matches.length ? [`找到 ${body.matches.length} 条`, `${body.matches.length} found`] : ['未找到', 'Nothing found'],
    ` (asked: ${asked})`,
    body.matches.length ? 'ok' : 'error',
  );
  document.body.dataset.searched = String(body.matches.length);
}

async function holderBundle(onBundle) {
  const values = queryValues();
  const code = $('q-code').value.trim();
  const params = new URLSearchParams();
  if (code) {
    params.set('code', code);
  } else {
    if (!values.certificate_number || !values.name || !values.id_number) {
      say(['请填写全部三项，或一次性取证码', 'Give all three fields, or a one-time code'], '', 'error');
      return;
    }
    for (const [key, value] of Object.entries(values)) params.set(key, value);
  }
  const shown = [...document.querySelectorAll('#disclose input:checked')].map((box) => box.value);
  if (shown.length !== Object.keys(REDACTABLE).length) params.set('disclose', shown.join(','));
  let response;
  try {
    response = await fetch(`/v1/holder/bundle?${params}`);
  } catch (exc) {
    say(['无法连接本节点', 'Cannot reach this node'], `: ${exc.message}`, 'error');
    return;
  }
  if (!response.ok) {
    say(['未能取回证书包', 'The bundle was not given'], await problemOf(response), 'error');
    return;
  }
  const bundleText = await response.text();
  say(['已取回证书包', 'Bundle received'], shown.length < 6 ? ` (redacted: ${Object.keys(REDACTABLE).filter((k) => !shown.includes(k)).join(', ')})` : '');
  $('q-code').value = '';
  await onBundle(bundleText);
}

/** Wire the panel; ``onBundle(text)`` receives the holder's bundle (JSON text). */
export function initQuery(onBundle) {
  const boxes = Object.entries(REDACTABLE).map(([name, label]) => {
    const wrap = document.createElement('label');
    const box = document.createElement('input');
    box.type = 'checkbox';
    box.value = name;
    box.checked = true;
    wrap.append(box, pair(label));
    return wrap;
  });
  $('disclose').replaceChildren(...boxes);
  $('search').addEventListener('click', () => search());
  $('holder-bundle').addEventListener('click', () => holderBundle(onBundle));
}

