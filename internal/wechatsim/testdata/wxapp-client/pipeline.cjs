// Drives a mini program release pipeline through co-wxapp-open-api, a
// third-party platform client nobody here wrote, against the simulator.
// The library is used as published; the one thing set is where WeChat is,
// as any client pointed at a test double must.
//
// Input (stdin, JSON): base, component_appid, component_appsecret, ticket,
// phase ("submit" or "release") and merchants. Output (stdout, JSON): what
// each call answered.
'use strict'

const co = require('co')
const WxappApi = require('co-wxapp-open-api')

const WECHAT = 'https://api.weixin.qq.com/'

// componentToken is the process's one component_access_token store. The
// library's README asks for a shared store whenever more than one API
// object is in use: each object that gets a new token supersedes the
// others' ones, and WeChat then answers 40001 to those.
const componentToken = {
  value: null,
  * get () { return this.value },
  * save (token) { this.value = token }
}

// client builds the library's API object and points every endpoint prefix
// it holds at the simulator.
function client (input, appid, refreshToken) {
  const api = new WxappApi(input.component_appid, input.component_appsecret, appid, refreshToken, input.ticket,
    componentToken.get.bind(componentToken), componentToken.save.bind(componentToken))
  for (const [key, value] of Object.entries(api)) {
    if (typeof value === 'string' && value.startsWith(WECHAT)) {
      api[key] = input.base + '/' + value.slice(WECHAT.length)
    }
  }
  return api
}

// attempt runs one call and returns its answer or WeChat's errcode.
function * attempt (call) {
  try {
    return { ok: yield call }
  } catch (err) {
    if (err.name === 'WeChatAPIError' && err.code) {
      return { errcode: err.code, errmsg: err.message }
    }
    throw err
  }
}

// submit puts the draft user_version in the template library, then for each
// merchant exchanges its authorization code, commits the template and
// submits the first page for review.
function * submit (input) {
  const component = client(input, '', '')
  const drafts = yield component.getCodeTemplateDraftList()
  const draft = drafts.draft_list.find(d => d.user_version === input.user_version)
  if (!draft) throw new Error('no draft ' + input.user_version)
  yield component.addCodeTemplate(draft.draft_id)
  const library = yield component.getCodeTemplateList()
  const template = library.template_list.find(t => t.user_version === input.user_version)
  if (!template) throw new Error('draft ' + draft.draft_id + ' not in the library')

  const merchants = []
  for (const m of input.merchants) {
    const auth = yield component.queryAuth(m.auth_code)
    const info = auth.authorization_info
    const api = client(input, info.authorizer_appid, info.authorizer_refresh_token)
    const ext = JSON.stringify({ extAppid: m.appid, ext: { merchant: m.appid } })
    yield api.commitCode(template.template_id, ext, input.user_version, 'release ' + input.user_version)
    const pages = yield api.getPage()
    const categories = yield api.getCodeCategory()
    const c = categories.category_list[0]
    const item = {
      address: pages.page_list[0],
      tag: 'tools',
      title: 'home',
      first_class: c.first_class,
      second_class: c.second_class,
      first_id: c.first_id,
      second_id: c.second_id
    }
    const submitted = yield api.submitAudit([item], null, 'first release')
    const status = yield api.getAuditStatus(submitted.auditid)
    const again = yield * attempt(api.submitAudit([item]))
    merchants.push({
      appid: info.authorizer_appid,
      refresh_token: info.authorizer_refresh_token,
      auditid: submitted.auditid,
      status: status.status,
      submit_again: again.errcode || 0
    })
  }
  return { template_id: template.template_id, merchants }
}

// release reads each merchant's audit and releases those that passed; it
// also tries to release those that did not, to show WeChat's refusal.
function * release (input) {
  const merchants = []
  for (const m of input.merchants) {
    const api = client(input, m.appid, m.refresh_token)
    const status = yield api.getAuditStatus(m.auditid)
    const latest = yield api.getLastAuditStatus()
    const released = yield * attempt(api.releaseCode())
    merchants.push({
      appid: m.appid,
      status: status.status,
      reason: status.reason || '',
      latest_auditid: latest.auditid,
      release_errcode: released.errcode || 0
    })
  }
  return { merchants }
}

function readStdin () {
  return new Promise((resolve, reject) => {
    let data = ''
    process.stdin.setEncoding('utf8')
    process.stdin.on('data', chunk => { data += chunk })
    process.stdin.on('end', () => resolve(data))
    process.stdin.on('error', reject)
  })
}

co(function * () {
  const input = JSON.parse(yield readStdin())
  const phases = { submit, release }
  const run = phases[input.phase]
  if (!run) throw new Error('unknown phase ' + input.phase)
  process.stdout.write(JSON.stringify(yield * run(input)) + '\n')
}).catch(err => {
  process.stderr.write((err.stack || String(err)) + '\n')
  process.exit(1)
})
