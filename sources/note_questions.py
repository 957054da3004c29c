"""Headings as questions: what a person would ask to get a section's text as the answer.

A heading is first cleaned of its numbering ("4.1.7.3", "（1）", "第三章", "Step 2:", "IV.") and
decoration (emoji, a trailing colon). Then, by what it is:

- a question ("Why is it slow?", "学习率怎么设") is kept as the author wrote it;
- advice ("Don't buy what you don't really need") asks for the reason: "Why shouldn't you …?";
- a task ("Installing CUDA", "Get The Size Of A Database", "部署模型") asks how: "How do I …?";
- a statement ("Postgres Does Not Support Unsigned Integers") asks whether: "Does Postgres …?";
- a comparison ("LoRA vs QLoRA", "A和B的区别") asks for the difference;
- a facet ("Installation", "优点", "实验设置") or a bare term ("Accelerators", "生成器") names
  part of a topic: the nearest meaningful parent heading, else the note's title, goes into the
  question ("在混合专家模型中，生成器是什么？"); without a topic it makes no question;
- a reference or navigation section ("References", "延伸阅读", "目录") makes none at all;
- anything else is a thing to explain: "What is …?", "什么是…？", "请介绍一下…。".
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from string import Formatter

from sources.note_render import has_cjk
from sources.note_words import (
    ADVICE_STARTS,
    FIELD_GERUNDS,
    NOUN_FIRST,
    OBJECT_STARTS,
    PHRASAL_VERBS,
    TASK_VERBS,
    TITLE_VERBS,
    base_of_gerund,
    base_of_third_person,
    base_of_third_person_task,
    gerund,
    inverted_question,
)

# ---------------------------------------------------------------------------- cleaning headings

_ROMAN = r"(?:I{1,3}|IV|VI{0,3}|IX|X{1,3}|XI{1,3}|XIV|XV)"
_ZH_NUMERAL = "0-9一二三四五六七八九十百零〇两"
_ZH_DIGITS = "一二三四五六七八九十百零〇两"
_NUMBERING = re.compile(
    r"^(?:"
    rf"[(（]\s*(?:\d{{1,3}}|[a-zA-Z]|[{_ZH_NUMERAL}]{{1,3}}|{_ROMAN}|[ivx]{{1,4}})\s*[)）][\s.、．:：]*"  # (1) （一） (a)
    r"|[\u2460-\u2473\u2776-\u277f\u2780-\u2793]\s*"  # ① ❶
    rf"|第\s*[{_ZH_NUMERAL}]+\s*[章节篇部步课讲回期天周条点个部分]+(?:分)?[\s:：、.．\-—]*"  # 第三章
    rf"|[{_ZH_DIGITS}]{{1,3}}\s*[、.．:：)）]\s*"  # 一、 二．
    r"|(?i:step|part|chapter|section|lesson|lecture|phase|stage|appendix|round|day|week|module|unit|exercise"
    r"|lab|task|problem|tip|rule|trick|approach|option|method|solution|case|scenario|variant|strategy)"
    r"\s+[0-9A-Za-z]{1,3}(?:\.\d+)*\s*(?:[:.：\-–—)]\s*|\s+|$)"  # Step 2:, Approach B.1.
    r"|\d{1,3}(?:[.．\-–]\d{1,3})*\s*[)）]\s*"  # 1) 3）
    r"|\d{1,3}(?:[.．\-–]\d{1,3})+[.．、:：]?\s*(?=\S)"  # 4.1.7.3 1.4文本生成 1.2总结 4-6
    r"|\d{1,3}[.．、:：]\s*(?=\S)"  # 1. 6.多维度 2、
    r"|\d{1,2}\s+(?=[^\s\d])"  # "4 总结", "2 LangChain"
    rf"|(?:[A-Z]|{_ROMAN})[.、．)]\s+"  # A. IV.
    r"|(?:Q\d{0,3}|QA|Q&A|FAQ|问)\s*[:：.、]\s*"  # Q1: / QA： in a heading
    r")")
# Emoji and pictographs ("📚 延伸阅读"), bullets and arrows that decorate a heading.
_DECORATION = re.compile("^[\\s\U0001F000-\U0001FAFF\u2190-\u21ff\u2300-\u27bf\u2b00-\u2bff\ufe0f\u200d#*>•·▶►■□◆◇○●★☆✅❗]+")
_TITLE_NOISE = re.compile(r"(?i)^(?:notes?\s+(?:on|about)\s+|my\s+)|\s*[-–—:：]?\s*(?:notes?|cheat\s*sheet"
                          r"|学习笔记|笔记|备忘|速查表?)$")
_CITATION = re.compile(r"\s*[(（][^()（）]*(?:\b(?:19|20)\d\d\b|et al)[^()（）]*[)）]\s*$")  # "(Artetxe et al., 2021)"


def strip_numbering(text: str) -> str:
    """'4.1.7.3 分布式哈希表' -> '分布式哈希表', '（1）预训练' -> '预训练', 'Step 2: Train' -> 'Train'."""
    for _ in range(4):  # "第一章 1.1 简介": numbering on numbering
        stripped = _NUMBERING.sub("", _DECORATION.sub("", text)).strip()
        if stripped == text:
            break
        text = stripped
    return text


def clean_heading(text: str, level: int) -> str:
    """A heading without numbering and decoration; on titles, without "notes" and a subtitle."""
    text = strip_numbering(text.strip())
    text = _CITATION.sub("", text).strip().rstrip(":：").strip()
    text = re.sub(r"(?<=[\u4e00-\u9fffA-Za-z0-9])\s*篇$", "", text) if len(text) > 3 else text  # "旋转位置编码 RoPE篇"
    if level <= 1:
        text = _TITLE_NOISE.sub("", text).strip()
        for separator in (": ", " - ", " — ", " – "):
            head, found, tail = text.partition(separator)
            if found and has_cjk(head) and len(head) <= 4 and tail.strip():
                text = tail.strip()  # "算法 - 并查集": a category, then the subject
            elif found and len(head.split()) >= 2:
                text = head
    return text


def topic_form(text: str) -> str:
    """A heading as the topic of another question: without a citation, a subtitle or a "篇"."""
    text = _CITATION.sub("", text).strip()
    text = re.sub(r"(?<=[\u4e00-\u9fff])篇$", "", text)
    for separator in (" - ", " — ", " – ", "：", ": ", ":"):
        head, found, _ = text.partition(separator)
        if found and len(head) >= 4:
            text = head.strip()
    return text


# ---------------------------------------------------------------------------- what a heading is

# Reference and navigation sections: never a pair, whatever their text.
_REFERENCE = re.compile(
    r"(?i)^(?:references?|bibliography|citations?|cite|further reading|additional reading|recommended reading"
    r"|reading list|see also|resources|external links|links|useful links|related(?: links| work| reading| posts)?"
    r"|sources?|credits|acknowledge?ments?|table of contents|contents|toc|index|changelog|change log|changes"
    r"|release notes|history|todo|to do|license|licence|contributing|contributors|citation|updates|news"
    r"|announcements|discussions|courses|lectures|talks|lectures/talks|shortcuts|ebook versions.*|gratitude"
    r"|my repositories map|related open books|related projects|sponsors|authors?|about the author|navigation"
    r"|参考|参考文献|参考资料|参考链接|参考来源|参考阅读|相关链接|相关资料|相关文章|相关阅读|延伸阅读|扩展阅读|拓展阅读"
    r"|推荐阅读|进一步阅读|资料|学习资料|资源|引用|致谢|鸣谢|目录|更新日志|更新记录|变更记录|待办|许可|许可证|版权声明|声明"
    r"|贡献|贡献者|附录|原文|原文链接|文章来源|来源|参考文章|参考论文|相关论文|论文列表|论文链接|推荐资料|学习资源|资源汇总)$")
_CONTAINERS = ("faq", "faqs", "questions", "q&a", "qa", "常见问题", "问答", "面试题", "面试问题", "问题", "习题", "练习",
               "miscellaneous", "misc", "other", "others", "其他", "其它", "杂项", "interesting", "subsections",
               "sub-sections", "links", "resources")
# A date ("2023 February", "2021-03", "2023年3月") or the author's own notes-to-self: a diary, not a topic.
_NO_TOPIC = re.compile(
    r"(?i)^(?:(?:19|20)\d\d(?:[-/.](?:0?[1-9]|1[0-2])(?:[-/.]\d{1,2})?)?"
    r"|(?:(?:19|20)\d\d\s+)?(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
    r"|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?(?:\s+\d{1,2}(?:st|nd|rd|th)?,?)?(?:\s+(?:19|20)\d\d)?"
    r"|(?:19|20)\d\d\s*年(?:\s*\d{1,2}\s*月(?:\s*\d{1,2}\s*日)?)?|\d{1,2}\s*月(?:\s*\d{1,2}\s*日)?"
    r"|q[1-4]\s+(?:19|20)\d\d|(?:19|20)\d\d\s+q[1-4]|week\s+\d{1,2}"
    r"|thoughts|my thoughts|ideas|random|random notes|scratch|scratchpad|inbox|wip|draft|drafts|journal|diary|log"
    r"|notes to self|to read|to try|to watch|backlog|unsorted|随笔|杂记|草稿|待整理|碎碎念|日记|想法)$")

# Facets of a topic: the template asks about the topic. None: the heading alone makes no pair.
_FACETS: list[tuple[str, str | None, str | None]] = [
    # heading (EN|ZH, lower case)                  English question                 Chinese question
    ("overview|introduction|intro|about|概述|简介|介绍|概览|概要|引言|前言|导论|综述|简述|概论|总览",
     "Can you give an overview of {t}?", "请概述一下{t}。"),
    ("background|motivation|背景|动机|研究背景|研究动机", "What is the background of {t}?", "{t}的背景和动机是什么？"),
    ("installation|install|安装|安装方法|安装步骤", "How do I install {t}?", "如何安装{t}？"),
    ("setup|getting started|quick start|quickstart|快速开始|快速上手|入门|环境搭建|环境配置",
     "How do I get started with {t}?", "如何快速上手{t}？"),
    ("usage|basic usage|how to use|use|使用|用法|使用方法|基本用法|使用方式", "How do I use {t}?", "如何使用{t}？"),
    ("configuration|config|settings|options|配置|配置项|设置|参数设置", "How do I configure {t}?", "如何配置{t}？"),
    ("example|examples|demo|示例|例子|实例|举例", "Can you show an example of {t}?", "能举一个{t}的例子吗？"),
    ("code|snippets|example code|implementation|代码|示例代码|代码实现|实现|源码|源码解读|代码示例",
     "How is {t} implemented?", "{t}是如何实现的？"),
    ("notes|remarks|tips|tips and tricks|things to know|注意|提示|小技巧|技巧|注意点",
     "What should I keep in mind when working with {t}?", "{t}有哪些需要注意的地方？"),
    ("pitfalls|common pitfalls|gotchas|caveats|common mistakes|known issues|坑|踩坑|常见错误|已知问题",
     "What are the common pitfalls of {t}?", "{t}有哪些常见的坑？"),
    ("best practices|recommendations|最佳实践|建议|实践建议", "What are the best practices for {t}?", "{t}有哪些最佳实践？"),
    ("troubleshooting|debugging|故障排查|排错|问题排查", "How do I troubleshoot {t}?", "如何排查{t}的问题？"),
    ("requirements|prerequisites|dependencies|前置条件|依赖|环境要求|准备工作|前置知识",
     "What are the prerequisites for {t}?", "{t}需要哪些前置条件？"),
    ("advantages|pros|benefits|strengths|优点|优势|好处|长处", "What are the advantages of {t}?", "{t}有哪些优点？"),
    ("disadvantages|cons|drawbacks|limitations|weaknesses|缺点|不足|局限|局限性|劣势|短板",
     "What are the limitations of {t}?", "{t}有哪些局限？"),
    ("pros and cons|trade-offs|tradeoffs|优缺点|权衡|利弊", "What are the trade-offs of {t}?", "{t}有哪些优缺点？"),
    ("how it works|internals|principle|principles|原理|工作原理|实现原理|基本原理|核心原理",
     "How does {t} work?", "{t}的原理是什么？"),
    ("why|rationale|为什么", "Why use {t}?", "为什么要用{t}？"),
    ("intent|purpose|意图|用意", "What is the purpose of {t}?", "{t}的目的是什么？"),
    ("summary|conclusion|conclusions|takeaways|key takeaways|tl;dr|recap|wrap-up|总结|小结|结论|总结与展望|本章小结",
     "What are the key takeaways about {t}?", "{t}的要点有哪些？"),
    ("lessons learned|reflection|reflections|retrospective|postmortem|反思|复盘|心得|经验|经验教训",
     "What lessons were learned from {t}?", "{t}有哪些经验教训？"),
    ("results|experimental results|evaluation|evaluation results|findings|实验结果|结果|评测结果|效果|实验效果|评估结果",
     "What results does {t} show?", "{t}的实验结果如何？"),
    ("experiments|experiment|experimental setup|setup and results|实验|实验设置|实验设计|实验配置",
     "How was {t} evaluated experimentally?", "{t}的实验是怎样设置的？"),
    # exercise collections ("剑指 Offer 题解"): every problem has the same two sub-headings
    ("problem|problem statement|description|题目描述|问题描述|题目|题目要求|题意", "What does the {t} problem ask?",
     "{t}这道题要求什么？"),
    ("solution|solutions|how to solve|解题思路|解题方法|解法|题解|解答|解题|解题过程", "How do you solve {t}?",
     "{t}这道题怎么解？"),
    ("class diagram|uml|类图|uml 图", "What is the structure of {t}?", "{t}的结构是怎样的？"),
    ("jdk|in jdk|jdk 中的应用|jdk 中的使用", "Where does the JDK use {t}?", "JDK 中哪里用到了{t}？"),
    ("method|methods|approach|methodology|方法|方法论|思路|主要思路|基本思路|解决思路|解决方法|解决方案|方案",
     "What approach does {t} take?", "{t}的方法是什么？"),
    ("architecture|structure|design|model architecture|架构|结构|模型结构|网络结构|整体架构|模型架构|框架|整体框架|设计",
     "What is the architecture of {t}?", "{t}的结构是怎样的？"),
    ("details|implementation details|细节|实现细节|技术细节|具体细节", "What are the details of {t}?", "{t}有哪些细节？"),
    ("definition|definitions|what it is|定义|概念|基本概念|核心概念", "How is {t} defined?", "{t}是如何定义的？"),
    ("process|workflow|pipeline|steps|procedure|流程|过程|步骤|工作流程|整体流程|具体步骤|基本流程",
     "What are the steps of {t}?", "{t}的流程是怎样的？"),
    ("features|characteristics|key features|特点|特性|特征|主要特点|核心特点",
     "What are the main features of {t}?", "{t}有哪些特点？"),
    ("applications|use cases|uses|应用|应用场景|使用场景|适用场景|场景|用途|作用",
     "What is {t} used for?", "{t}有哪些应用场景？"),
    ("challenges|problems|issues|open problems|挑战|难点|存在的问题|面临的挑战|主要挑战|问题与挑战",
     "What are the challenges of {t}?", "{t}面临哪些挑战？"),
    ("improvements|optimizations|改进|优化|改进点|优化方法|优化策略", "How can {t} be improved?", "{t}有哪些改进？"),
    ("comparison|对比|比较|对比分析", "How does {t} compare with the alternatives?", "{t}和其他方法相比如何？"),
    ("analysis|discussion|讨论|分析", "What does the analysis of {t} show?", "对{t}有哪些分析？"),
    ("training|训练|训练过程|训练方法|训练方式", "How is {t} trained?", "{t}是如何训练的？"),
    ("pre-training|pretraining|预训练", "How is {t} pre-trained?", "{t}是如何预训练的？"),
    ("fine-tuning|finetuning|微调", "How is {t} fine-tuned?", "{t}是如何微调的？"),
    ("inference|推理", "How does inference work in {t}?", "{t}是如何推理的？"),
    ("data|dataset|datasets|数据|数据集", "What data does {t} use?", "{t}使用了哪些数据？"),
    ("loss|loss function|objective|损失|损失函数|目标函数|训练目标", "What is the training objective of {t}?",
     "{t}的训练目标是什么？"),
    ("contributions|贡献|主要贡献", "What are the contributions of {t}?", "{t}有哪些贡献？"),
    ("performance|性能", "How does {t} perform?", "{t}的性能如何？"),
    ("metrics|指标|评价指标|评估指标", "Which metrics are used for {t}?", "{t}有哪些评价指标？"),
    ("tools|工具|常用工具", "Which tools are there for {t}?", "{t}有哪些常用工具？"),
    ("basics|fundamentals|concepts|key concepts|基础|基础知识", "What are the basics of {t}?", "{t}有哪些基础知识？"),
    ("future work|outlook|展望|未来工作|未来方向|展望未来|未来展望", "What is the outlook for {t}?", "{t}未来的发展方向是什么？"),
    ("case study|case studies|案例研究|案例分析|案例", "What case studies are there for {t}?", "{t}有哪些案例？"),
    ("related work|prior work|相关工作|相关研究", "What related work is there on {t}?", "{t}有哪些相关工作？"),
    ("glossary|terms|terminology|术语|术语表|名词解释|glossary and concepts", None, None),  # the terms are the pairs
]
_FACET = {key: (en, zh) for keys, en, zh in _FACETS for key in keys.split("|")}

# "X的原理" -> "X的原理是什么？": what a Chinese heading ending in such a word asks for.
_ZH_ASPECTS: list[tuple[str, str]] = [
    ("原理|基本原理|工作原理|核心思想|思想|本质|目的|目标|动机|意义|含义|定义|核心|关键", "{x}的{s}是什么？"),
    ("作用|用处|用途|价值", "{x}有什么{s}？"),
    ("用法|使用方法|使用方式|基本用法|常用用法", "{x}怎么用？"),
    ("影响", "{x}有什么影响？"),
    ("现状|进展|发展|发展现状|趋势|前景", "{x}的{s}如何？"),
    ("流程|过程|结构|架构|组成|原则|机制|框架", "{x}的{s}是怎样的？"),
    ("实现|实现方式|计算|计算方式|计算方法", "{x}是如何{s0}的？"),
    ("区别|异同|不同|不同点|差异", "{x}有什么区别？"),
    ("关系|联系", "{x}之间有什么关系？"),
    ("特点|优点|缺点|优势|劣势|局限|局限性|挑战|应用|类型|分类|种类|方法|步骤|参数|指标|问题|改进|变体|技巧|策略"
     "|因素|方案|场景|原因|要点|注意事项|误区|建议|命令|工具|坑|方式|形式|模块|组件|阶段|来源|难点", "{x}有哪些{s}？"),
]
_ZH_ASPECT = [(re.compile(rf"^(.{{2,}}?)(的?)({words})$"), template) for words, template in _ZH_ASPECTS]
# Without a "的" only these end a heading as an aspect: "长尾知识问题" is a problem, not its problems.
_ZH_BARE_ASPECTS = ("原理", "优点", "缺点", "优缺点", "特点", "作用", "区别", "优势", "意义", "局限性", "用法", "使用方法")
_ZH_LIST_SUFFIXES = ("步骤", "方法", "注意事项", "原则", "技巧", "要点", "建议", "原因", "优点", "缺点",
                     "特点", "场景", "因素", "方案", "问题", "误区", "类型", "命令", "参数", "工具", "坑")
_ZH_VERBS = ("使用", "用", "安装", "配置", "部署", "训练", "搭建", "构建", "运行", "创建", "编写", "启动", "加载",
             "保存", "导出", "合并", "微调", "评估", "测试", "调试", "优化", "实现", "升级", "迁移", "清洗",
             "转换", "选择", "量化", "下载", "监控", "排查", "管理", "处理", "准备", "减轻", "缓解", "提高", "提升",
             "降低", "减少", "解决", "避免", "防止", "计算", "估算", "设计", "利用", "控制", "加速", "压缩", "扩展",
             "衡量", "判断", "识别", "检测", "消除", "改进", "增强", "生成", "获取", "查看", "修改", "删除", "添加",
             "调整", "设置", "定义", "初始化", "启用", "开启", "关闭", "卸载", "更新", "注册", "连接", "调用", "执行",
             "切分", "拆分", "分割", "导入", "统计", "构造", "搭配", "编译", "打包", "发布", "封装", "申请", "安装和",
             "限制", "指定", "自定义", "读取", "写入", "存储", "解析", "提取", "筛选", "过滤", "替换", "对齐", "融合")
_ZH_NOT_VERBS = ("用户", "用法", "用途", "用量", "数据", "数据集", "文件", "日志", "指标", "脚本", "结果", "集",
                 "格式", "框架", "模型", "函数", "代码", "规范", "流程", "策略", "记录", "器", "机制", "方式", "方法",
                 "过程", "阶段", "任务", "目标", "技术", "算法", "系统", "平台", "工具", "问题", "效果", "能力")
# A modal verb makes a heading a claim ("数据集会缓解…"), not the "会" of "社会" or "能" of "智能".
_ZH_CLAIM = re.compile(r"(?<![社机学协大议])会(?![议话员计])(?=[\u4e00-\u9fff])|能够|可以|可能会|应该|不需要|是否")
# Short headings that end in a generic word name a part of their topic, like a facet.
_ZH_GENERIC_TEMPLATES = {
    **dict.fromkeys(("架构", "结构", "流程", "框架", "设置", "环境", "机制", "过程"), "{t}的{h}是怎样的？"),
    **dict.fromkeys(("模块", "热点", "部分", "内容", "细节", "要点", "方向", "进展", "组件", "功能", "特性"), "{t}有哪些{h}？"),
    **dict.fromkeys(("说明", "定义", "符号", "记号", "概念", "思想", "意义", "目标", "任务", "假设", "前提", "结论",
                     "现状", "思路", "总览"), "{t}的{h}是什么？"),
}
_ZH_GENERIC = re.compile("(?:" + "|".join(_ZH_GENERIC_TEMPLATES) + ")$")
_VERSUS = re.compile(r"^(.+?)\s+(?:vs\.?|versus)\s+(.+)$", re.I)
_ZH_VERSUS = re.compile(r"^(.+?)\s*(?:和|与|跟|vs\.?|VS|对比)\s*(.+?)的?(?:区别|异同|对比|比较|差异|不同)$")
_EN_QUESTION_START = re.compile(
    r"(?i)^(how|what|what's|why|where|which|who|whom|whose|can|could|should|would|is|are|was|were|does|do|did"
    r"|will|has|have|am)\b")
_ZH_QUESTION_WORDS = re.compile(
    r"^(?:如何|怎么|怎样|为什么|为何|什么|是否|能否|哪些|哪个|哪种|何时|有没有)|怎么|怎样|如何|为什么|为何|是什么|什么是"
    r"|有哪些|多少|哪些|是否|能否|[吗呢么]$")
_SITUATION = re.compile(r"(?i)\s(?:is|are|was|were|does not|doesn't|don't|won't|can't|cannot|fails?|keeps?)\s")
_REQUEST = re.compile(r"^(?:请|麻烦)?(?:简要|简单|详细)?(?:介绍|解释|说明|描述|说说|谈谈|讲讲|简述|概述|阐述|比较|列举)(?:一下)?.{2,}"
                      r"|^(?i:explain|describe|compare|list|summarize|summarise|give an? )\b(?=.*\b(?:the|a|an|of|how|why)\b)")
_PROBLEM = re.compile(r"(?i)\b(?:high|low|slow|fails?|failing|failed|errors?|broken|hangs?|hanging|crash(?:es|ing)?"
                      r"|missing|wrong|stuck|empty|not work(?:ing)?|doesn't work|won't|can't|cannot|too (?:slow|big"
                      r"|large|small|long|many)|out of memory|oom|nan|diverges?|leaks?|no (?:errors?|output|space))\b")
_LINK_WORDS = set("of for in on with to from per by about against and or over under via we you they that which".split())
_FUNCTION_WORDS = set("the a an our my your this these after before during while".split())
_SMALL_WORDS = set("a an the and or but nor of for in on at to by with from as into onto via vs per than "
                   "if is are be it its without within through between about over under after before when where "
                   "up out off down".split())


@dataclass
class HeadingContext:
    """What the templates may know about the note besides the heading."""

    words: set[str] = field(default_factory=set)  # lower-case words of the prose
    names: set[str] = field(default_factory=set)  # capitalised words in mid-sentence: names
    capitalized: set[str] = field(default_factory=set)  # capitalised words anywhere in the prose


def is_reference_heading(heading: str) -> bool:
    key = heading.strip().lower().rstrip(":：")
    return bool(_REFERENCE.match(key) or _NO_TOPIC.match(key))


def is_container_heading(heading: str) -> bool:
    """"FAQ", "常见问题", "4-6 QA": a heading whose pairs are the questions inside it."""
    key = re.sub(r"[\s:：]+", "", heading.lower())
    return key in {c.replace(" ", "") for c in _CONTAINERS} or bool(re.fullmatch(r"(?:常见)?问题(?:与|和|及)?解答|faq.*", key))


_FACET_PREFIX = re.compile(r"^(?:总体|整体|全文|本章|本节|本文|主要|核心|基本|简单|简要|个人|最终|论文|模型|final |brief |quick |short )")


def facet_key(heading: str) -> str | None:
    """The facet a heading names ("Installation", "总体总结" -> "总结"), None when it names none."""
    key = heading.lower().strip()
    if key in _FACET:
        return key
    key = _FACET_PREFIX.sub("", key)
    return key if key in _FACET else None


def is_facet(heading: str) -> bool:
    return facet_key(heading) is not None


def is_glossary_heading(heading: str) -> bool:
    key = facet_key(heading)
    return key is not None and _FACET[key] == (None, None) or bool(re.search(r"(?i)glossary|术语|名词解释", heading))


def is_question(heading: str) -> bool:
    if heading.endswith(("?", "？")):
        return True
    if re.search(r"。|\.(\s|$)", heading):
        return False
    if has_cjk(heading):
        return bool(_ZH_QUESTION_WORDS.search(heading))
    return bool(_EN_QUESTION_START.match(heading)) and not re.match(r"(?i)^when\b", heading)


def as_question(heading: str) -> str:
    """A question heading as a question: 'How to pull a model' -> 'How do I pull a model?'."""
    heading = heading.strip()
    chinese = has_cjk(heading)
    if heading.endswith(("?", "？")):
        return heading[:-1].rstrip() + "？" if chinese else heading
    if m := re.match(r"(?i)^(how|when|where|what|which|why) to (.+)$", heading):  # "How to X" -> "How do I X?"
        word = m[1].capitalize()
        heading = f"{word} {'do' if word == 'How' else 'should'} I {m[2]}"
    return heading.rstrip("。.!！") + ("？" if chinese else "?")


# ---------------------------------------------------------------------------- templates


def fill(template: str, **values: str) -> str:
    """Format a template, putting a space where Chinese meets Latin text ("安装 Ollama")."""
    out = ""
    for literal, name, _, _ in Formatter().parse(template):
        for piece in (literal, values[name] if name else ""):
            if out and piece and has_cjk(out[-1]) != has_cjk(piece[0]) and (
                    out[-1].isascii() and out[-1].isalnum() or piece[0].isascii() and piece[0].isalnum()):
                out += " "
            out += piece
    return _finish(out)


def _finish(question: str) -> str:
    """One closing mark, in the question's script: never "。。", never "?" after Chinese."""
    question = question.strip()
    question = re.sub(r"[。.!！]+([？?])$", r"\1", question)
    question = re.sub(r"([。？！?!.])\1+$", r"\1", question)
    question = re.sub(r"[？?][。.]$|[。.][？?]$", "？" if has_cjk(question) else "?", question)
    if has_cjk(question) and question.endswith("?"):
        question = question[:-1] + "？"
    return question


def sentence_case(text: str, ctx: HeadingContext) -> str:
    """'Get The Size Of A Database' -> 'get the size of a database'; names ('SQLite', 'Postgres'
    where the note writes it so mid-sentence) and code keep their letters."""
    words = text.split(" ")
    title_case = sum(1 for w in words if w[:1].isupper()) >= max(2, 0.6 * len([w for w in words if w[:1].isalpha()]))
    out = []
    for i, word in enumerate(words):
        core = re.sub(r"^[^\w]+|[^\w]+$", "", word)
        pieces = core.split("-")  # "Lower-Case" is two plain words
        plain = bool(core) and all(p[:1].isupper() and (p[1:].islower() or len(p) == 1) and p.isalpha() for p in pieces)
        if plain and (title_case or i == 0) and _is_common_word(core, ctx, small=core.lower() in _SMALL_WORDS):
            word = word.replace(core, core.lower(), 1)
        out.append(word)
    return " ".join(out)


def _is_common_word(word: str, ctx: HeadingContext, small: bool) -> bool:
    """A word to write in lower case: one the prose writes so, or never writes capitalised."""
    if small or word.lower() in ctx.words:
        return True
    if word in ctx.names or word in ctx.capitalized:
        return False
    return len(word) > 1 and word != "I"


def _lower_first(text: str, ctx: HeadingContext) -> str:
    """A heading fit for mid-sentence: 'Gradient checkpointing' -> 'gradient checkpointing' when
    the note writes the word in lower case elsewhere; names like 'Ollama' or 'LoRA' stay."""
    first = text.split()[0]
    lower = first.lower()
    common = (lower in TASK_VERBS or lower in _FUNCTION_WORDS or lower.endswith("ing") or lower in _SMALL_WORDS)
    rest = text.split()[1:]
    sentence_cased = bool(rest) and all(not w[:1].isupper() for w in rest)  # "Static batching"
    if first[:1].isupper() and (first[1:].islower() or len(first) == 1) and first not in ctx.names and (
            common or lower in ctx.words or sentence_cased) and first != "I":
        return first.lower() + text[len(first):]
    return text


def _phrase(text: str, ctx: HeadingContext) -> str:
    words = text.split()
    if len(words) >= 2 and (all(w[:1].isupper() or w.lower() in _SMALL_WORDS for w in words) or _title_case(text)):
        return sentence_case(text, ctx)
    return _lower_first(text, ctx)


def is_task(topic: str) -> bool:
    """'Serving models with vLLM', 'How to choose a cloud provider', '用 Ollama 部署模型': an
    activity, not a thing."""
    if has_cjk(topic):
        return topic.startswith(_ZH_VERBS)
    first = topic.split()[0].lower()
    return first.endswith("ing") and first not in FIELD_GERUNDS or bool(re.match(r"(?i)^how to\s", topic))


def _task_clause(topic: str, ctx: HeadingContext) -> str:
    """A task topic for "…when {clause}?": 'How to Choose a Cloud Provider' -> 'choosing a cloud provider'."""
    if m := re.match(r"(?i)^how to\s+(\S+)\s*(.*)$", topic):
        return f"{gerund(m[1].lower())} {_phrase(m[2], ctx) if m[2] else ''}".strip()
    return _phrase(topic, ctx)


def facet_question(key: str, topic: str | None, chinese: bool, ctx: HeadingContext) -> str | None:
    en, zh = _FACET[key]
    template = zh if chinese else en
    if not template or not topic:
        return None
    if is_task(topic) and chinese and template.startswith("如何") and template.endswith("{t}？"):
        template = "{t}时" + template[: -len("{t}？")] + "？"  # "如何安装{t}？" -> "{t}时如何安装？"
    elif is_task(topic) and not chinese:
        if template.startswith(("How do I", "How is", "How does", "What is the", "What approach")):
            return f"What should I know about {key} when {_task_clause(topic, ctx)}?"
        return template.format(t=_task_clause(topic, ctx))
    return fill(template, t=topic if chinese else _phrase(topic, ctx))


def en_question(heading: str, topic: str | None, ctx: HeadingContext) -> str | None:
    if m := _VERSUS.match(heading):
        left = re.split(r"[:,;]\s+", m[1])[-1]  # "Key spec differences: H200 vs B200" compares H200 and B200
        return f"What is the difference between {_phrase(left, ctx)} and {m[2]}?"
    words = heading.split()
    first = words[0].lower()
    if first in ("from", "by", "via", "about", "re") and len(words) > 1:
        return None  # "From Adam Moody's team at LLNL": where notes came from, not what they say
    lowered = " ".join(words)
    if re.match(r"(?i)^(?:don't|do not|dont|never)\s", heading):  # "Don't buy what you don't need"
        rest = re.sub(r"(?i)^(?:don't|do not|dont|never)\s+", "", heading)
        return f"Why shouldn't you {sentence_case(rest, ctx) if _title_case(rest) else rest}?"
    if re.match(r"(?i)^avoid\s", heading):
        return f"Why should you {_lower_first(_phrase(heading, ctx), ctx)}?"
    if _advice(heading) and len(words) > 2:  # "Always plan to have more nodes"
        return f"Why should you {_lower_first(_phrase(heading, ctx), ctx)}?"
    if (base := base_of_gerund(first)) and _advice(base) and len(words) > 2:  # "Preferring fixed … to dynamic ones"
        return f"Why {base} {_phrase(' '.join(words[1:]), ctx)}?"
    if statement := _statement_question(words, ctx):  # "Filter Blur Requires Expensive Calculation"
        return statement
    if first == "when" and len(words) > 1:  # "When Overflow Is Desired"
        return f"What happens {_lower_first(_phrase(heading, ctx), ctx)}?"
    found = _leading_verb(words)
    if found and len(words) > found[1]:
        verb, used = found
        rest = " ".join(words[used:])
        rest = sentence_case(rest, ctx) if _title_case(heading) else rest
        rest = re.sub(r"\byour\b", "my", re.sub(r"\byours\b", "mine", rest))  # the asker's own: "my public IP"
        return f"How do I {verb} {rest}?"
    if found and topic:
        return f"How do I {found[0]} {_phrase(topic, ctx)}?"
    if _imperative(words):  # "Audit Your Ruby Project For Any CVEs", "Incorporate Existing Type Into Zod Schema"
        rest = sentence_case(heading, ctx) if _title_case(heading) else heading
        rest = re.sub(r"\byour\b", "my", re.sub(r"\byours\b", "mine", rest))
        return f"How do I {_lower_first(rest, ctx)}?"
    phrase = _phrase(heading, ctx)
    if first in ("after", "before", "during", "while"):
        return f"What should I do {phrase}?"
    if _PROBLEM.search(heading) and _SITUATION.search(heading):  # "Latency is high but there are no errors"
        return f"What should I do when {_lower_first(phrase, ctx)}?"
    if len(words) >= 3 and (question := inverted_question(phrase.split())):  # "Postgres Does Not Support…"
        return question[0].upper() + question[1:]
    if _SITUATION.search(heading):
        return f"What should I do when {_lower_first(phrase, ctx)}?"
    if len(words) == 1 and topic and _is_label(heading, ctx):  # "Accelerators", "Storage": say where
        label = heading.lower() if heading.lower() in ctx.words or _plural(heading) else heading
        if is_task(topic):
            return f"What should I know about {label} when {_task_clause(topic, ctx)}?"
        return f"What is {label} in {_phrase(topic, ctx)}?" if not _plural(words[-1]) else \
            f"What should I know about {label} in {_phrase(topic, ctx)}?"
    if len(words) > 6:
        return f"What should I know about {phrase}?"
    head = next((words[i - 1] for i in range(1, len(words)) if words[i].lower() in _LINK_WORDS), words[-1])
    plural = _plural(head) or re.search(r"(?i)\s(?:and|&)\s", heading) and not _VERSUS.match(heading)
    return f"What {'are' if plural else 'is'} {phrase}?"


# After a verb in the imperative: what it acts on. "Audit your project", "Incorporate existing types".
_OBJECT_OPENERS = frozenset("your my a an the existing all any multiple specific every each some".split())


def _imperative(words: list[str]) -> bool:
    """A heading that starts with a verb the word lists do not know, told by the object after it:
    a plain word, then "your", "a", "the", "existing"…; not a noun in the plural ("Arrays and …"),
    an adjective in -al/-ic/-ous, a gerund or a name."""
    if len(words) < 3 or words[1].lower() not in _OBJECT_OPENERS:
        return False
    first = words[0]
    lower = first.lower()
    noun_like = lower.endswith(("s", "ing", "ed", "al", "ic", "ous", "ful", "ive", "able", "ible", "less", "ary", "ory",
                                "ist", "ism", "tion"))
    return first.isalpha() and (first.islower() or first[1:].islower()) and not noun_like and lower not in _NOT_VERBS


_NOT_VERBS = frozenset("what which who why how when where is are was were do does did can could should would will "
                       "about for in on with from to of by at as into over under after before during while between "
                       "among and or but not no all any every each some one two three many much more most other "
                       "another such this that these those there here".split())


def _advice(heading: str) -> bool:
    """Advice starts with one of ADVICE_STARTS as a whole word: "Prefer …", not "Preferring …"."""
    lower = heading.lower()
    return any(lower == a.strip() or lower.startswith(a if a.endswith(" ") else a + " ") for a in ADVICE_STARTS)


_PREPOSITIONS = frozenset("about for in on with to from by via into at of over under".split())


def _statement_question(words: list[str], ctx: HeadingContext) -> str | None:
    """A heading whose second or third word is a verb in the third person states a fact about what
    comes before it: 'Drizzle Tracks Migrations In A Log Table' -> 'Does Drizzle track migrations in
    a log table?'. A task verb first ('Run Tests Faster') keeps the heading a task."""
    lowered = [w.lower() for w in words]
    for i in (1, 2):
        if i >= len(words) - 1:
            return None
        base = base_of_third_person(lowered[i]) or base_of_third_person_task(lowered[i])
        if not base:
            continue
        stative = base_of_third_person(lowered[i]) is not None
        if lowered[0] in TASK_VERBS and not (stative and i == 1) and i == 1:
            return None  # "Run Tests Faster", "List Commits On A Branch"
        if not stative and (lowered[i + 1] in _PREPOSITIONS or len(words) - i - 1 < 2):
            return None  # "Word Lists For Atoms", "React Hooks Overview": nouns
        if any(w in OBJECT_STARTS for w in lowered[1:i]):
            return None
        subject = _phrase(" ".join(words[:i]), ctx)
        rest = sentence_case(" ".join(words[i + 1:]), ctx) if _title_case(" ".join(words)) else " ".join(words[i + 1:])
        return f"Does {subject} {base} {rest}?"
    return None


def _title_case(text: str) -> bool:
    words = [w for w in text.split() if w[:1].isalpha()]
    return len(words) >= 2 and sum(1 for w in words if w[:1].isupper()) >= 0.6 * len(words)


def _plural(word: str) -> bool:
    return word.endswith("s") and not word.endswith(("ss", "us", "is")) and not word.isupper() and len(word) > 3


def _is_label(heading: str, ctx: HeadingContext) -> bool:
    """A common noun or two ('Accelerators', 'Contracts', 'Storage') rather than a name or a term of art."""
    words = heading.split()
    return all(w[:1].isupper() and w[1:].islower() and w not in ctx.names for w in words[:1]) and all(
        w[1:].islower() for w in words)


def _leading_verb(words: list[str]) -> tuple[str, int] | None:
    """The verb a task heading starts with, in its base form, and how many words it takes:
    'Installing' -> ('install', 1), 'Set Up' -> ('set up', 2), 'Quickly Type' -> ('quickly type', 2)."""
    first = words[0].lower()
    second = words[1].lower() if len(words) > 1 else ""
    title = _title_case(" ".join(words)) and len(words) >= 3
    if first in ("quickly", "temporarily", "safely", "manually", "interactively", "dynamically", "conditionally",
                 "gracefully", "automatically", "easily", "programmatically", "selectively", "recursively",
                 "always", "never", "just", "properly", "efficiently", "correctly"):
        if len(words) > 1 and (found := _leading_verb(words[1:])):
            return f"{first} {found[0]}", found[1] + 1
        return None
    if f"{first} {second}" in PHRASAL_VERBS:
        return PHRASAL_VERBS[f"{first} {second}"], 2
    if first.endswith("ing"):
        base = base_of_gerund(first)
        third = words[2].lower() if len(words) > 2 else ""
        if not base or first in FIELD_GERUNDS and second not in OBJECT_STARTS and third not in (
                "with", "from", "on", "in", "for", "using", "via", "across", "into"):
            return None
        return _with_particle(base, words)
    if first in TASK_VERBS:
        if first in NOUN_FIRST and second not in OBJECT_STARTS:
            return None
        if first in TITLE_VERBS and second not in OBJECT_STARTS and not title:
            return None
        return _with_particle(first, words)
    if title and second in OBJECT_STARTS - {"of", "for", "in", "on", "to", "from", "with", "by", "and"} and re.fullmatch(
            r"[a-z]+(?:ify|ize|ise|ate|en)", first):  # "Reclassify Certain Packages", "Memoize The Result"
        return first, 1
    return None


def _with_particle(verb: str, words: list[str]) -> tuple[str, int]:
    """'Set Up GPG Signing Key' takes 'up' along; 'Set The Title' does not."""
    second = words[1].lower() if len(words) > 1 else ""
    if second in ("up", "out", "off", "down", "back", "over", "away", "in") and len(words) > 2 and verb in (
            "set", "clean", "look", "back", "turn", "log", "sign", "speed", "pin", "figure", "find", "check", "break",
            "spin", "tear", "shut", "roll", "wrap", "fill", "free", "sort", "write", "print", "type", "zoom", "scale",
            "switch", "open", "start", "hook", "fire", "boot", "pull", "push", "clear", "lock", "build"):
        return f"{verb} {second}", 2
    return verb, 1


def zh_question(heading: str, topic: str | None) -> str | None:
    if re.search(r"这(?:门|个|篇|一)?(?:课|课程|章|节|篇|文|部分)|本(?:课程|章|节|文|篇)", heading):
        return None  # "这门课的意义": which course? the heading means something only in the note
    if m := re.match(r"^(?:常见|主流|主要|典型|常用)的?(.{2,})$", heading):
        if not re.search(r"[的与和及、]|问题$", m[1]):
            return fill("{h}有哪些？", h=heading)  # "常见的并行策略" -> "常见的并行策略有哪些？"
    if m := _ZH_VERSUS.match(heading) or _VERSUS.match(heading):
        return fill("{a}和{b}有什么区别？", a=m[1], b=m[2])
    if m := re.match(r"^(.{2,}?)(解决|存在|面临|遇到|带来)的(?:主要)?问题$", heading):
        verb = {"解决": "解决了", "存在": "存在", "面临": "面临", "遇到": "会遇到", "带来": "带来了"}[m[2]]
        return fill("{x}{v}哪些问题？", x=m[1], v=verb)
    if heading.endswith("的问题") and len(heading) > 4:
        return fill("{h}会有什么问题？", h=heading[: -len("的问题")])
    if _ZH_CLAIM.search(heading) and "，" not in heading and len(heading) >= 8:
        return fill("{h}吗？", h=heading)  # "更大规模的数据集会缓解…的影响" is a claim: ask whether
    if re.match(r"^(?:将|把)", heading) or "了" in heading[1:] and heading.startswith(_ZH_VERBS):
        return fill("为什么要{h}？", h=heading.replace("了", "")) if heading[0] in "将把" else fill("为什么{h}？", h=heading)
    if m := re.match(r"^(.{2,}?)场景$", heading):
        if not m[1].endswith(("应用", "使用", "适用", "的")):
            return fill("在{h}下，{t}应该怎么做？", h=heading, t=topic) if topic else fill("在{h}下应该怎么做？", h=heading)
    bare = re.sub(r"^(?:主要|其他|其它|常见|一些|核心|关键|重要|基本|若干|几个|相关)(?:的)?", "", heading)
    if bare != heading and bare.endswith(_ZH_LIST_SUFFIXES) and len(bare) <= 4:  # "主要考虑因素": whose?
        return fill("{t}的{h}有哪些？", t=topic, h=heading) if topic else None
    for pattern, template in _ZH_ASPECT:
        m = pattern.match(heading)
        if m and not m[1].endswith(("和", "与", "及")) and (m[2] or m[3] in _ZH_BARE_ASPECTS):
            if _ZH_MODIFIER.fullmatch(m[1].strip()):  # "技术原理": the principle of the topic, not of "技术"
                return fill(template, x=topic, s=m[3], s0=m[3][:2]) if topic else None
            return fill(template, x=m[1].strip(), s=m[3], s0=m[3][:2])
    if split := _facet_suffix(heading):  # "Word2Vec概述": the facet of its own prefix
        if _ZH_MODIFIER.fullmatch(split[0]):  # "阶段性结论": a facet of the topic, "性" names no subject
            return facet_question(split[1], topic, True, HeadingContext()) if topic else None
        return facet_question(split[1], split[0], True, HeadingContext())
    if heading.endswith(_ZH_LIST_SUFFIXES):
        if heading not in _ZH_LIST_SUFFIXES:
            return fill("{h}有哪些？", h=heading.replace("的那些", "的"))
        return fill("{t}的{h}有哪些？", t=topic, h=heading) if topic else None
    if _zh_task(heading):
        return fill("如何{h}？", h=heading)
    han = len(re.findall(r"[\u3400-\u9fff]", heading))
    latin = len(re.findall(r"[A-Za-z0-9]+", heading))
    if latin == 0 and han <= 5 and (m := _ZH_GENERIC.search(heading)):  # "关键模块", "补充说明": of what?
        if not topic:
            return None
        return fill(_ZH_GENERIC_TEMPLATES[m[0]], t=topic, h=heading)
    if topic and (han == 0 and latin == 1 or latin == 0 and han <= 3):  # a bare term: say where
        return fill("在{t}中，{h}是什么？", t=topic, h=heading)
    if "诉" in heading and latin + han <= 14:  # a court case: "作家协会诉Google"
        return fill("{h}一案是怎么回事？", h=heading)
    if han + latin > 10 or re.search(r"[与和及、]", heading):
        return fill("请介绍一下{h}。", h=heading)
    return fill("什么是{h}？", h=heading)


# Words that qualify a facet without naming a subject: "阶段性结论", "初步实验", "私有数据".
_ZH_MODIFIER = re.compile(r".{0,3}性|技术|算法|方法|模型|初步|整体|总体|最终|其他|其它|相关|私有|公开|常见|主要|基本|简单|额外|补充|进一步|实际")
_ZH_FACET_SUFFIXES = sorted((k for k, v in _FACET.items() if has_cjk(k) and len(k) >= 2 and v[1]), key=len, reverse=True)


def _facet_suffix(heading: str) -> tuple[str, str] | None:
    """'Word2Vec概述' -> ('Word2Vec', '概述'); None when the heading ends in no facet or the rest is
    no subject ('训练数据' is data, not the data of "训练")."""
    for key in _ZH_FACET_SUFFIXES:
        if heading.endswith(key) and len(heading) > len(key):
            subject = heading[: -len(key)].rstrip("的 ")
            if len(subject) >= 2 and not subject.startswith(_ZH_VERBS) and not re.search(r"[，,。与和及]", subject):
                return subject, key
    return None


def _zh_task(heading: str) -> bool:
    """'部署模型', '使用 vLLM 部署模型': a task. '训练数据' is data, '微调的过程和影响' a thing."""
    return heading.startswith(_ZH_VERBS) and not heading.startswith(_ZH_NOT_VERBS) and "的" not in heading and not (
        len(heading) <= 5 and heading.endswith(_ZH_NOT_VERBS))


def heading_question(heading: str, topic: str | None, chinese: bool, ctx: HeadingContext) -> tuple[str | None, str]:
    """The question for a cleaned heading, and the rule that made it ("faq" or "section")."""
    if not heading or is_container_heading(heading) or is_reference_heading(heading):
        return None, "section"
    topic = None if topic and topic.lower() == heading.lower() else topic
    if key := facet_key(heading):
        return facet_question(key, topic, chinese, ctx), "section"
    if is_question(heading):
        return as_question(heading), "faq"
    if _REQUEST.match(heading):  # "请介绍一下全参数微调", "Explain attention": asked already
        return _finish(heading.rstrip("。.") + ("。" if chinese else ".")), "faq"
    if chinese:
        return zh_question(heading, topic), "section"
    return en_question(heading, topic, ctx), "section"
