package authorize

import (
	"fmt"
	"slices"
)

// Permission is a permission set (权限集) an account granted the platform:
// a funcscope_category id from func_info, with its names.
type Permission struct {
	ID int
	Zh string // WeChat's Chinese name
	En string
}

// permissionNames are WeChat's permission sets, from the open platform's
// tables for official accounts (公众号权限集) and mini programs (小程序权限集),
// plus 16, 20 and 21 from the older func_info list. Names follow WeChat's
// current Chinese wording; the English ones are ours.
var permissionNames = map[int][2]string{
	// Official accounts.
	1:  {"消息管理", "Message management"},
	2:  {"用户管理", "User management"},
	3:  {"账号服务", "Account services"},
	4:  {"网页服务", "Web page services"},
	5:  {"微信小店", "WeChat Store"},
	6:  {"微信多客服", "Multi-agent customer service"},
	7:  {"群发与通知", "Broadcasts and notifications"},
	8:  {"微信卡券", "Cards and offers"},
	9:  {"微信扫一扫", "Scan"},
	10: {"微信连WIFI", "Wi-Fi via WeChat"},
	11: {"素材管理", "Media assets"},
	12: {"微信摇周边", "Shake nearby"},
	13: {"微信门店", "Stores"},
	15: {"菜单管理", "Custom menu"},
	16: {"获取认证状态及信息", "Verification status"},
	22: {"城市服务", "City services"},
	23: {"广告管理", "Advertising"},
	24: {"开放平台账号管理", "Open Platform account binding"},
	26: {"微信电子发票", "E-invoices"},
	27: {"快速注册小程序", "Fast mini program registration"},
	33: {"小程序关联管理", "Mini program linking"},
	34: {"微信商品库管理", "Product library"},
	44: {"好物圈", "Haowuquan"},
	46: {"微信一物一码", "One item, one code"},
	47: {"微信财政电子票据", "Fiscal e-receipts"},
	54: {"服务号对话管理", "Service account conversations"},
	66: {"微信服务市场管理", "Service marketplace"},
	89: {"服务号订阅通知", "Subscription notifications"},
	// Mini programs.
	17: {"获取小程序码", "Mini program codes"},
	18: {"小程序开发与数据分析", "Development and analytics"},
	19: {"小程序客服管理", "Customer service messages"},
	20: {"微信登录", "WeChat login"},
	21: {"数据分析", "Data analysis"},
	25: {"开放平台账号管理", "Open Platform account binding"},
	30: {"小程序基本信息管理", "Basic information"},
	31: {"小程序认证名称检测", "Verification name check"},
	37: {"附近的小程序管理", "Nearby mini programs"},
	40: {"小程序插件管理", "Plugins"},
	41: {"好物圈管理", "Haowuquan"},
	45: {"微信物流服务", "Logistics"},
	48: {"微信财政电子票据管理", "Fiscal e-receipts"},
	49: {"小程序云开发管理", "Cloud development"},
	51: {"小程序即时配送", "Instant delivery"},
	52: {"小程序直播管理", "Live streaming"},
	65: {"小程序广告管理", "Advertising"},
	67: {"微信服务市场管理", "Service marketplace"},
	70: {"标准版交易组件商品管理", "Trade component: products"},
	71: {"标准版交易组件订单物流与售后管理", "Trade component: orders and after-sales"},
	73: {"标准版交易组件接入", "Trade component onboarding"},
	76: {"小程序违规与交易投诉管理", "Violations and complaints"},
	81: {"试用小程序快速认证", "Trial mini program verification"},
	84: {"标准版交易组件优惠券管理", "Trade component: coupons"},
}

// Permissions names the permission sets in funcInfo, in id order, once
// each. An id missing from WeChat's published tables is named by its number.
func Permissions(funcInfo []int) []Permission {
	ids := slices.Clone(funcInfo)
	slices.Sort(ids)
	ids = slices.Compact(ids)
	ps := make([]Permission, 0, len(ids))
	for _, id := range ids {
		names, ok := permissionNames[id]
		if !ok {
			names = [2]string{fmt.Sprintf("权限集 %d", id), fmt.Sprintf("Permission set %d", id)}
		}
		ps = append(ps, Permission{ID: id, Zh: names[0], En: names[1]})
	}
	return ps
}
