"""Who a takedown notice is addressed to, per platform (names are storage keys).

Operator names are given only where they are well established; otherwise the notice is
addressed to "the operator of <platform>" and the user fills in the legal entity by
editing the template (``$LIKEWATCH_HOME/templates/<platform>.<lang>.txt.j2``).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PlatformInfo:
    key: str
    name_zh: str
    name_en: str
    operator_zh: str = ""
    operator_en: str = ""
    channel_zh: str = "平台侵权投诉渠道"
    channel_en: str = "the platform's rights-infringement complaint channel"
    policy_en: str = ("the platform's community guidelines and privacy policy, which prohibit "
                      "content that uses a person's likeness without consent")


PLATFORMS: dict[str, PlatformInfo] = {p.key: p for p in [
    PlatformInfo("bilibili", "哔哩哔哩", "Bilibili", "上海宽娱数码科技有限公司",
                 "Shanghai Kuanyu Digital Technology Co., Ltd.", "哔哩哔哩侵权投诉渠道",
                 "Bilibili's infringement complaint channel"),
    # Renamed from 北京微播视界科技有限公司 (Douyin Open Platform's SDK page names the
    # developer "北京抖音科技有限公司（曾用名“北京微播视界科技有限公司”）"; see
    # platform_requirements/douyin.yaml for the source).
    PlatformInfo("douyin", "抖音", "Douyin", "北京抖音科技有限公司",
                 "Beijing Douyin Technology Co., Ltd.", "抖音侵权投诉渠道",
                 "Douyin's infringement complaint channel"),
    PlatformInfo("kuaishou", "快手", "Kuaishou", "北京快手科技有限公司",
                 "Beijing Kuaishou Technology Co., Ltd.", "快手侵权投诉渠道",
                 "Kuaishou's infringement complaint channel"),
    PlatformInfo("tiktok", "TikTok", "TikTok", "", "", "TikTok 隐私及侵权举报渠道",
                 "TikTok's privacy and intellectual-property reporting forms",
                 "TikTok's Community Guidelines and privacy policy, which prohibit content "
                 "that uses a person's likeness without consent, impersonation and "
                 "misleading synthetic media"),
    PlatformInfo("youtube", "YouTube", "YouTube", "Google LLC", "Google LLC",
                 "YouTube 隐私投诉流程", "YouTube's privacy complaint process",
                 "YouTube's privacy guidelines, under which a person may request removal of "
                 "content that uniquely identifies them, including altered or synthetic "
                 "content that simulates their face or voice"),
    PlatformInfo("hongguo", "红果短剧", "Hongguo Short Drama"),
    PlatformInfo("reelshort", "ReelShort", "ReelShort"),
    # DramaBox's terms and privacy policy (platform_requirements/dramabox.yaml).
    PlatformInfo("dramabox", "DramaBox", "DramaBox", "STORYMATRIX PTE. LTD.（新加坡）",
                 "STORYMATRIX PTE. LTD. (Singapore)"),
    PlatformInfo("sandbox", "测试平台（沙盒）", "Sandbox test platform", "Likewatch 沙盒",
                 "the Likewatch sandbox", "沙盒投诉渠道（测试用）",
                 "the sandbox complaint channel (for testing)"),
    PlatformInfo("generic", "该平台", "the platform"),
]}


def platform_info(key: str) -> PlatformInfo:
    """The platform's entry, or a generic one named after ``key``."""
    if key in PLATFORMS:
        return PLATFORMS[key]
    return PlatformInfo(key, key or "该平台", key or "the platform")
