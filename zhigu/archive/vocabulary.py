"""Controlled vocabularies: the seed cause taxonomy, sectors, stages and organization types.

The cause taxonomy is seeded from here into the database, where admins add, rename and retire causes; the
other lists are fixed choices that schemas validate against and pages label in both languages.
"""

#: (code, label_en, label_zh) of each cause family, in display order.
CAUSE_FAMILIES = [
    ("market", "Market and demand", "市场与需求"),
    ("product", "Product and technology", "产品与技术"),
    ("team", "Team", "团队"),
    ("money", "Money", "资金"),
    ("partners", "Partners and supply", "合作方与供应链"),
    ("policy", "Policy, regulation and politics", "政策、监管与政治"),
    ("execution", "Execution and timing", "执行与时机"),
    ("external", "External shocks", "外部冲击"),
]

#: (code, family, label_en, label_zh): the default taxonomy seeded by `zhigu init-db`.
SEED_CAUSES = [
    ("market.no_demand", "market", "No real demand for the offer", "缺乏真实市场需求"),
    ("market.needs_mismatch", "market", "Offer did not match the target country's real needs",
     "产品与目标国实际需求不符"),
    ("market.wrong_pricing", "market", "Wrong customer segment or pricing", "目标客群或定价错误"),
    ("market.competition", "market", "Outcompeted by incumbents or cheaper rivals", "竞争失利"),
    ("product.immature_tech", "product", "Technology not mature enough", "技术不成熟"),
    ("product.poor_localization", "product", "Poor localization (language, standards, climate, habits)",
     "本地化不足（语言、标准、气候、习惯）"),
    ("product.quality", "product", "Product quality and reliability problems", "产品质量与可靠性问题"),
    ("team.skills_gap", "team", "Missing key skills or local knowledge", "团队缺乏关键能力或本地经验"),
    ("team.conflict_turnover", "team", "Founder conflict or loss of key people", "团队矛盾或核心人员流失"),
    ("money.cash_out", "money", "Ran out of cash", "资金链断裂"),
    ("money.unit_economics", "money", "Unit economics never worked", "单位经济模型不成立"),
    ("money.subsidy_dependence", "money", "Dependent on subsidies that ended", "过度依赖补贴"),
    ("partners.brand_damage", "partners", "Brand damage from a partner's poor quality", "合作方质量差损害品牌"),
    ("partners.unreliable_partner", "partners", "Unreliable or misaligned local partner", "合作伙伴不可靠或目标不一致"),
    ("partners.supply_chain", "partners", "Supply chain or logistics failure", "供应链或物流失效"),
    ("policy.local_protectionism", "policy",
     "Local protectionism; regions competing instead of co-ordinating", "地方保护主义，区域间恶性竞争而非协同"),
    ("policy.political_risk_abroad", "policy", "Political risk abroad", "海外政治风险"),
    ("policy.regulation", "policy", "Regulation changed or could not be met", "监管政策变化或无法合规"),
    ("policy.approval_delays", "policy", "Permits and approvals delayed", "审批与许可延误"),
    ("execution.poor_research", "execution", "Poor feasibility study or market research", "前期可行性研究与市场调研不足"),
    ("execution.bad_timing", "execution", "Wrong timing: too early or too late", "时机不当（过早或过晚）"),
    ("execution.overexpansion", "execution", "Expanded too fast", "扩张过快"),
    ("external.pandemic_disaster", "external", "Pandemic or natural disaster", "疫情或自然灾害"),
    ("external.fx_trade_shock", "external", "Currency, trade or price shock", "汇率、贸易或价格冲击"),
]

#: (code, label_en, label_zh) of each sector.
SECTORS = [
    ("agriculture", "Agriculture and food", "农业与食品"),
    ("manufacturing", "Manufacturing", "制造业"),
    ("energy", "Energy and new energy", "能源与新能源"),
    ("construction", "Construction and infrastructure", "建筑与基础设施"),
    ("logistics", "Logistics and trade", "物流与贸易"),
    ("ecommerce", "E-commerce", "电子商务"),
    ("fintech", "Finance and fintech", "金融与金融科技"),
    ("health", "Health and medical", "医疗健康"),
    ("education", "Education and training", "教育培训"),
    ("digital", "Software, AI and digital services", "软件、人工智能与数字服务"),
    ("mobility", "Mobility and transport", "交通出行"),
    ("tourism", "Tourism and culture", "文旅"),
    ("textiles", "Textiles and apparel", "纺织服装"),
    ("biotech", "Biotech and pharmaceuticals", "生物医药"),
    ("real_estate", "Park development and real estate", "园区开发与地产"),
    ("other", "Other", "其他"),
]

#: (code, label_en, label_zh), in the order a venture moves through them.
STAGES = [
    ("idea", "Idea", "构想"),
    ("prototype", "Prototype", "原型"),
    ("pilot", "Pilot", "试点"),
    ("launched", "Launched", "已上线"),
    ("scaling", "Scaling", "规模化"),
]

#: (code, label_en, label_zh) of each organization type.
ORG_TYPES = [
    ("soe", "State-owned enterprise", "国有企业"),
    ("private", "Private enterprise", "民营企业"),
    ("government", "Government body", "政府机构"),
    ("university", "University or think tank", "高校或智库"),
    ("media", "Media", "媒体"),
    ("ngo", "NGO", "非政府组织"),
    ("other", "Other", "其他"),
]



def codes(vocabulary):
    """Return the codes of a vocabulary list, for validators."""
    return [entry[0] for entry in vocabulary]

#: Chinese names of the provincial divisions and of the larger cities, for regions written in pinyin
#: ("Zhejiang/Hangzhou" reads 浙江/杭州 in the Chinese interface; what is stored does not change).
REGION_NAMES_ZH = {
    "Anhui": "安徽", "Beijing": "北京", "Chongqing": "重庆", "Fujian": "福建", "Gansu": "甘肃", "Guangdong": "广东",
    "Guangxi": "广西", "Guizhou": "贵州", "Hainan": "海南", "Hebei": "河北", "Heilongjiang": "黑龙江", "Henan": "河南",
    "Hong Kong": "香港", "Hubei": "湖北", "Hunan": "湖南", "Inner Mongolia": "内蒙古", "Jiangsu": "江苏",
    "Jiangxi": "江西", "Jilin": "吉林", "Liaoning": "辽宁", "Macau": "澳门", "Macao": "澳门", "Ningxia": "宁夏",
    "Qinghai": "青海", "Shaanxi": "陕西", "Shandong": "山东", "Shanghai": "上海", "Shanxi": "山西", "Sichuan": "四川",
    "Taiwan": "台湾", "Tianjin": "天津", "Tibet": "西藏", "Xizang": "西藏", "Xinjiang": "新疆", "Yunnan": "云南",
    "Zhejiang": "浙江",
    "Baotou": "包头", "Changchun": "长春", "Changsha": "长沙", "Chengdu": "成都", "Dalian": "大连",
    "Dongguan": "东莞", "Foshan": "佛山", "Fuzhou": "福州", "Guangzhou": "广州", "Guiyang": "贵阳", "Haikou": "海口",
    "Hangzhou": "杭州", "Harbin": "哈尔滨", "Hefei": "合肥", "Hohhot": "呼和浩特", "Horgos": "霍尔果斯",
    "Jinan": "济南", "Kashgar": "喀什", "Khorgos": "霍尔果斯", "Kunming": "昆明", "Lanzhou": "兰州", "Lhasa": "拉萨",
    "Nanchang": "南昌", "Nanjing": "南京", "Nanning": "南宁", "Ningbo": "宁波", "Qingdao": "青岛",
    "Shenyang": "沈阳", "Shenzhen": "深圳", "Shijiazhuang": "石家庄", "Suzhou": "苏州", "Taiyuan": "太原",
    "Urumqi": "乌鲁木齐", "Wenzhou": "温州", "Wuhan": "武汉", "Wuxi": "无锡", "Xiamen": "厦门", "Xi'an": "西安",
    "Xian": "西安", "Xining": "西宁", "Yinchuan": "银川", "Yiwu": "义乌", "Zhengzhou": "郑州", "Zhuhai": "珠海",
    "Changzhou": "常州", "Chuzhou": "滁州", "Jiaxing": "嘉兴", "Jinhua": "金华", "Nantong": "南通",
    "Shaoxing": "绍兴", "Shihezi": "石河子", "Taizhou": "台州", "Xuzhou": "徐州", "Yangzhou": "扬州",
    # cities abroad where partner organizations sit (countries are named by Babel, see templating.region)
    "Almaty": "阿拉木图", "Astana": "阿斯塔纳", "Bishkek": "比什凯克", "Jakarta": "雅加达", "Karachi": "卡拉奇",
    "Kostanay": "科斯塔奈", "Lahore": "拉合尔", "Tashkent": "塔什干",
}
