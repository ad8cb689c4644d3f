package wechatsim

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// Kind is an account's type.
type Kind int

// Account kinds, as auth_type selects them (1 official accounts, 2 mini
// programs).
const (
	OfficialAccount Kind = 1
	MiniProgram     Kind = 2
)

// String returns the kind's Chinese and English name.
func (k Kind) String() string {
	switch k {
	case OfficialAccount:
		return "公众号 Official Account"
	case MiniProgram:
		return "小程序 Mini Program"
	default:
		return fmt.Sprintf("Kind(%d)", int(k))
	}
}

// Account is a simulated official account or mini program that an admin can
// authorize to a component.
type Account struct {
	AppID         string
	Kind          Kind
	UserName      string // original id, gh_…
	NickName      string
	HeadImg       string // avatar URL; empty: the simulator's /sim/avatar/<appid>.svg
	PrincipalName string
	Alias         string
	QRCodeURL     string // empty: the simulator's /sim/qrcode/<appid>.svg
	Signature     string
	// ServiceType is service_type_info.id: 0 subscription account,
	// 1 upgraded old account, 2 service account; 0 for mini programs.
	ServiceType int
	// VerifyType is verify_type_info.id: -1 unverified, 0 WeChat verified.
	VerifyType int
	// FuncInfo is the permission sets (funcscope_category ids) the admin is
	// offered and grants by default; empty: a default set for the kind.
	FuncInfo []int
	// Users are follower openids; empty: three generated ones. A user who
	// sends a message (SendMessage) becomes a follower.
	Users []string
	// ReleaseTest marks WeChat's full-network release test accounts, which
	// the authorization page lists only when biz_appid names them.
	ReleaseTest bool
}

type account struct {
	Account
	followers map[string]*follower
}

type follower struct {
	subscribed  time.Time
	lastMessage time.Time // zero: never wrote; custom messages need one in the last 48 h
}

// Default permission sets: the common ones WeChat lists for each kind.
func defaultFuncInfo(k Kind) []int {
	if k == MiniProgram {
		return []int{17, 18, 19, 25, 30, 31, 37, 40}
	}
	return []int{1, 2, 3, 4, 7, 11, 15}
}

// permissionName is the Chinese and English name of a permission set.
func permissionName(id int) (zh, en string) {
	switch id {
	case 1:
		return "消息管理", "Message management"
	case 2:
		return "用户管理", "User management"
	case 3:
		return "账号服务", "Account services"
	case 4:
		return "网页服务", "Web page services"
	case 6:
		return "微信多客服", "Customer service"
	case 7:
		return "群发与通知", "Broadcasts and notifications"
	case 11:
		return "素材管理", "Media assets"
	case 15:
		return "自定义菜单", "Custom menu"
	case 17:
		return "账号管理", "Account management"
	case 18:
		return "开发管理与数据分析", "Development and analytics"
	case 19:
		return "客服消息管理", "Customer service messages"
	case 25:
		return "开放平台账号管理", "Open Platform account binding"
	case 30:
		return "小程序基本信息管理", "Basic information"
	case 31:
		return "小程序认证名称检测", "Verification name check"
	case 37:
		return "附近的小程序管理", "Nearby mini programs"
	case 40:
		return "小程序插件管理", "Plugins"
	default:
		return fmt.Sprintf("权限集 %d", id), fmt.Sprintf("Permission set %d", id)
	}
}

// releaseTestAccounts are WeChat's full-network release test accounts.
func releaseTestAccounts() []Account {
	groups := []struct{ oa, oaUser, mp, mpUser string }{
		{"wx570bc396a51b8ff8", "gh_3c884a361561", "wxd101a85aa106f53e", "gh_8dad206e9538"},
		{"wx9252c5e0bb1836fc", "gh_c0f28a78b318", "wxc39235c15087f6f3", "gh_905ae9d01059"},
		{"wx8e1097c5bc82cde9", "gh_3f222ed8d140", "wx7720d01d4b2a4500", "gh_393666f1fdf4"},
		{"wx14550af28c71a144", "gh_26128078e9ab", "wx05d483572dcd5d8b", "gh_39abb5d4e1b7"},
		{"wxa35b9c23cfe664eb", "gh_2b3713f184a6", "wx5910277cae6fd970", "gh_7818dcb60240"},
	}
	var out []Account
	for i, g := range groups {
		out = append(out,
			Account{AppID: g.oa, Kind: OfficialAccount, UserName: g.oaUser, NickName: fmt.Sprintf("全网发布测试公众号%d", i+1),
				PrincipalName: "深圳市腾讯计算机系统有限公司", ServiceType: 2, VerifyType: 0, ReleaseTest: true},
			Account{AppID: g.mp, Kind: MiniProgram, UserName: g.mpUser, NickName: fmt.Sprintf("全网发布测试小程序%d", i+1),
				PrincipalName: "深圳市腾讯计算机系统有限公司", VerifyType: 0, ReleaseTest: true},
		)
	}
	return out
}

// DefaultAccounts are the accounts New seeds unless NoDefaultAccounts is
// set, for local runs and tests that want ready-made accounts.
func DefaultAccounts() []Account {
	return []Account{
		{AppID: "wx2a6c1f0b7d3e5001", Kind: OfficialAccount, UserName: "gh_5c0a9e2b7d01", NickName: "晨光咖啡馆",
			PrincipalName: "上海晨光餐饮管理有限公司", Alias: "chenguang_cafe", ServiceType: 2, VerifyType: 0,
			Signature: "每天一杯好咖啡"},
		{AppID: "wx2a6c1f0b7d3e5002", Kind: OfficialAccount, UserName: "gh_5c0a9e2b7d02", NickName: "山海书店",
			PrincipalName: "杭州山海文化传播有限公司", ServiceType: 0, VerifyType: -1, Signature: "读书、选书、买书"},
		{AppID: "wx2a6c1f0b7d3e5003", Kind: MiniProgram, UserName: "gh_5c0a9e2b7d03", NickName: "小鹿记账",
			PrincipalName: "深圳小鹿科技有限公司", VerifyType: 0, Signature: "简单好用的记账工具"},
		{AppID: "wx2a6c1f0b7d3e5004", Kind: MiniProgram, UserName: "gh_5c0a9e2b7d04", NickName: "青禾健身",
			PrincipalName: "成都青禾体育发展有限公司", VerifyType: 0, Signature: "预约课程，记录训练"},
	}
}

func (s *Sim) seedAccounts() {
	seed := releaseTestAccounts()
	if !s.opts.NoDefaultAccounts {
		seed = append(DefaultAccounts(), seed...)
	}
	for _, a := range seed {
		if _, err := s.AddAccount(a); err != nil {
			panic(fmt.Sprintf("wechatsim: seed account %s: %v", a.AppID, err))
		}
	}
}

// AddAccount adds a simulated account and returns it with its defaults
// filled in: UserName, NickName, FuncInfo and Users. Adding an AppID again
// replaces the account's profile and keeps its followers and authorizations.
func (s *Sim) AddAccount(a Account) (Account, error) {
	if !validAppID(a.AppID) {
		return Account{}, fmt.Errorf("wechatsim: account appid %q: want wx and 16 characters", a.AppID)
	}
	if a.Kind != OfficialAccount && a.Kind != MiniProgram {
		return Account{}, errors.New("wechatsim: account kind must be OfficialAccount or MiniProgram")
	}
	if a.UserName == "" {
		a.UserName = "gh_" + hashString(a.AppID, 12, "0123456789abcdef")
	}
	if a.NickName == "" {
		a.NickName = "模拟账号 " + a.AppID[len(a.AppID)-4:]
	}
	if len(a.FuncInfo) == 0 {
		a.FuncInfo = defaultFuncInfo(a.Kind)
	}
	a.FuncInfo = slices.Clone(a.FuncInfo)
	if len(a.Users) == 0 {
		for i := range 3 {
			a.Users = append(a.Users, openID(a.AppID, i))
		}
	}
	a.Users = slices.Clone(a.Users)

	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	acct, ok := s.accounts[a.AppID]
	if !ok {
		acct = &account{followers: map[string]*follower{}}
		s.accounts[a.AppID] = acct
		s.accountOrder = append(s.accountOrder, a.AppID)
	}
	acct.Account = a
	for i, u := range a.Users {
		if _, ok := acct.followers[u]; !ok {
			acct.followers[u] = &follower{subscribed: now.Add(-time.Duration(i+1) * 24 * time.Hour)}
		}
	}
	return cloneAccount(a), nil
}

// AddAccounts adds n generated accounts of kind (appids wx…, names
// 模拟公众号/模拟小程序 NNNNN) and returns them, for load tests.
func (s *Sim) AddAccounts(n int, kind Kind) ([]Account, error) {
	out := make([]Account, 0, n)
	for range n {
		s.mu.Lock()
		s.generated++
		i := s.generated
		s.mu.Unlock()
		a := Account{
			AppID:         fmt.Sprintf("wxf%015x", i),
			Kind:          kind,
			NickName:      fmt.Sprintf("模拟公众号 %05d", i),
			PrincipalName: "模拟科技有限公司",
			ServiceType:   2,
		}
		if kind == MiniProgram {
			a.NickName, a.ServiceType = fmt.Sprintf("模拟小程序 %05d", i), 0
		}
		a, err := s.AddAccount(a)
		if err != nil {
			return out, err
		}
		out = append(out, a)
	}
	return out, nil
}

// Account returns the account with the given appid.
func (s *Sim) Account(appID string) (Account, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	a, ok := s.accounts[appID]
	if !ok {
		return Account{}, false
	}
	return cloneAccount(a.Account), true
}

// Accounts returns every account, in the order added.
func (s *Sim) Accounts() []Account {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]Account, 0, len(s.accountOrder))
	for _, id := range s.accountOrder {
		out = append(out, cloneAccount(s.accounts[id].Account))
	}
	return out
}

func cloneAccount(a Account) Account {
	a.FuncInfo = slices.Clone(a.FuncInfo)
	a.Users = slices.Clone(a.Users)
	return a
}

// validAppID reports whether id looks like an appid: "wx" and 16 letters or
// digits.
func validAppID(id string) bool {
	if len(id) != 18 || !strings.HasPrefix(id, "wx") {
		return false
	}
	for _, c := range id[2:] {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z') {
			return false
		}
	}
	return true
}

// openID derives the i-th follower's openid of an account: 28 characters
// starting with "o", as WeChat's look.
func openID(appID string, i int) string {
	sum := sha256.Sum256(fmt.Appendf(nil, "%s/user/%d", appID, i))
	return "o" + base64.RawURLEncoding.EncodeToString(sum[:])[:27]
}

// hashString derives n characters from alphabet out of key.
func hashString(key string, n int, alphabet string) string {
	sum := sha256.Sum256([]byte(key))
	b := make([]byte, n)
	for i := range b {
		b[i] = alphabet[int(sum[i%len(sum)])%len(alphabet)]
	}
	return string(b)
}

// hue derives a colour hue (0-359) from key.
func hue(key string) int {
	sum := sha256.Sum256([]byte(key))
	return int(binary.BigEndian.Uint16(sum[:2]) % 360)
}

// avatarSVG draws an account's avatar: its name's first character on a
// colour of its own.
func avatarSVG(appID, nickName string) []byte {
	r, _ := utf8.DecodeRuneInString(nickName)
	if r == utf8.RuneError {
		r = '?'
	}
	return fmt.Appendf(nil, `<svg xmlns="http://www.w3.org/2000/svg" width="132" height="132" viewBox="0 0 132 132">`+
		`<rect width="132" height="132" rx="12" fill="hsl(%d,55%%,48%%)"/>`+
		`<text x="66" y="66" dy=".35em" text-anchor="middle" font-family="PingFang SC,Microsoft YaHei,sans-serif" font-size="64" fill="#fff">%s</text></svg>`,
		hue(appID), xmlEscape(string(r)))
}

// qrcodeSVG draws a QR-code-like picture for an account: three finder
// squares and modules derived from the appid. It does not scan.
func qrcodeSVG(appID string) []byte {
	const n = 25
	sum := sha256.Sum256([]byte(appID + "/qrcode"))
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="250" height="250" viewBox="-2 -2 %d %d">`, n+4, n+4)
	b.WriteString(`<rect x="-2" y="-2" width="29" height="29" fill="#fff"/>`)
	finder := func(x, y int) bool { return x < 8 && y < 8 || x >= n-8 && y < 8 || x < 8 && y >= n-8 }
	for _, o := range [][2]int{{0, 0}, {n - 7, 0}, {0, n - 7}} {
		fmt.Fprintf(&b, `<rect x="%d" y="%d" width="7" height="7"/><rect x="%d" y="%d" width="5" height="5" fill="#fff"/><rect x="%d" y="%d" width="3" height="3"/>`,
			o[0], o[1], o[0]+1, o[1]+1, o[0]+2, o[1]+2)
	}
	bit := 0
	for y := range n {
		for x := range n {
			if finder(x, y) {
				continue
			}
			byteIdx := (bit / 8) % len(sum)
			if (sum[byteIdx]>>(bit%8))&1 == 1 {
				fmt.Fprintf(&b, `<rect x="%d" y="%d" width="1" height="1"/>`, x, y)
			}
			bit += 3
		}
	}
	b.WriteString(`</svg>`)
	return []byte(b.String())
}

func xmlEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;", "'", "&apos;").Replace(s)
}
