//! The console's words in zh-CN (the default: the users are in China) and English.
//!
//! A typed table rather than loose strings: a label without both languages does not
//! compile, and a page cannot ask for a label that does not exist.

use crate::api::proto;

/// The language a page is drawn in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum Lang {
    #[default]
    Zh,
    En,
}

impl Lang {
    pub(crate) fn parse(code: &str) -> Option<Self> {
        match code {
            "zh" | "zh-CN" => Some(Self::Zh),
            "en" => Some(Self::En),
            _ => None,
        }
    }

    pub(crate) fn code(self) -> &'static str {
        match self {
            Self::Zh => "zh",
            Self::En => "en",
        }
    }

    /// The value of `<html lang>`.
    pub(crate) fn html(self) -> &'static str {
        match self {
            Self::Zh => "zh-CN",
            Self::En => "en",
        }
    }

    pub(crate) fn other(self) -> Self {
        match self {
            Self::Zh => Self::En,
            Self::En => Self::Zh,
        }
    }
}

macro_rules! catalogue {
    ($($key:ident => $zh:literal, $en:literal;)+) => {
        /// Every fixed label of the console.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub(crate) enum Msg { $($key,)+ }

        impl Msg {
            pub(crate) fn text(self, lang: Lang) -> &'static str {
                match (self, lang) {
                    $((Self::$key, Lang::Zh) => $zh, (Self::$key, Lang::En) => $en,)+
                }
            }
        }
    };
}

catalogue! {
    AppName => "投诉处理台", "Complaint desk";
    SwitchLanguage => "English", "中文";
    NavQueue => "工作队列", "Work queue";
    NavStatistics => "统计分析", "Statistics";
    NavAudit => "审计", "Audit";
    SignIn => "登录", "Sign in";
    SignOut => "退出", "Sign out";
    SignInTitle => "使用令牌登录", "Sign in with a token";
    TokenLabel => "访问令牌", "Access token";
    SignInHelp => "令牌来自服务器的令牌文件（complaintflow token issue）。", "Tokens come from the server's token file (complaintflow token issue).";
    SignInRefused => "令牌无效、已吊销或已过期。", "The token is unknown, revoked or expired.";
    SignedInAs => "当前用户", "Signed in as";
    FormExpired => "表单已失效，请重新打开页面后再提交。未做任何更改。", "This form has expired: open the page again and resubmit. Nothing was changed.";
    NotFound => "未找到", "Not found";
    NotFoundText => "没有这个投诉，或者您无权查看。", "There is no such complaint, or it is not yours to see.";
    Forbidden => "无权操作", "Not allowed";
    Refused => "请求被拒绝", "Request refused";
    RuleRefused => "业务规则拒绝了此操作", "A workflow rule refused this step";
    VersionConflict => "投诉已被他人更新，请查看最新状态后重试。", "The complaint changed meanwhile: look at its latest state and try again.";
    Unavailable => "服务暂时不可用", "Service unavailable";
    Error => "错误", "Error";
    Back => "返回", "Back";
    // The queue.
    QueueTitle => "未结案投诉", "Open complaints";
    ViewAll => "全部未结案", "All open";
    ViewUnanswered => "未回复", "Unanswered";
    ViewAtRisk => "即将超时", "At risk";
    ViewOverdue => "已超时", "Overdue";
    ViewUnreachable => "联系不上", "Unreachable";
    ViewWaiting => "等待中", "Waiting";
    Filter => "筛选", "Filter";
    Dealer => "经销商", "Dealer";
    Region => "区域", "Region";
    Status => "状态", "Status";
    Category => "类别", "Category";
    Severity => "严重程度", "Severity";
    Channel => "渠道", "Channel";
    FiledFrom => "受理日期从", "Filed from";
    FiledTo => "至", "to";
    Any => "全部", "Any";
    Complaint => "投诉", "Complaint";
    Customer => "客户", "Customer";
    Filed => "受理时间", "Filed";
    NextDeadline => "下一期限", "Next deadline";
    TimeLeft => "剩余（工作时间）", "Time left (business hours)";
    Level => "升级层级", "Escalation level";
    NoComplaints => "没有符合条件的投诉。", "No complaint matches.";
    PagePrevious => "上一页", "Previous";
    PageNext => "下一页", "Next";
    ScanLimited => "只检查了最近受理的投诉；请缩小筛选范围。", "Only the most recently filed complaints were looked at: narrow the filters.";
    // A complaint.
    State => "当前状态", "State";
    Deadlines => "进行中的期限", "Running deadlines";
    DeadlineKind => "期限", "Deadline";
    Due => "到期", "Due";
    NoDeadlines => "没有进行中的期限。", "No running deadline.";
    OverdueBadge => "已超时", "overdue";
    AtRiskBadge => "预警", "at risk";
    Ladder => "升级阶梯", "Escalation ladder";
    Timeline => "时间线", "Timeline";
    Version => "版本", "Version";
    Who => "操作人", "Who";
    OccurredAt => "发生时间", "Happened";
    RecordedAt => "记录时间", "Recorded";
    What => "事件", "What";
    ChainIntact => "哈希链完整", "Hash chain intact";
    ChainBroken => "哈希链断裂", "Hash chain broken";
    EventsChecked => "个事件已校验", "events checked";
    AsOfVersion => "查看历史版本", "As it was at version";
    ShowVersion => "查看", "Show";
    Latest => "最新", "latest";
    HistoricalView => "这是投诉在较早版本时的样子；操作只能在最新版本上进行。", "This is the complaint as it was at an earlier version; steps are taken on the latest version only.";
    Description => "投诉内容", "What happened";
    Request => "客户诉求", "Customer's request";
    Vehicle => "车辆", "Vehicle";
    ContactAttempts => "联系次数", "Contact attempts";
    Unreachable => "联系不上", "Unreachable";
    WaitingFor => "等待", "Waiting for";
    Escalations => "升级次数", "Escalations";
    Reopens => "重开次数", "Reopens";
    Satisfaction => "满意度", "Satisfaction";
    Yes => "是", "yes";
    No => "否", "no";
    // Desk actions.
    Actions => "处理操作", "Desk steps";
    Acknowledge => "确认受理", "Acknowledge";
    ConfirmedFacts => "与客户确认的事实", "Facts confirmed with the customer";
    PlanPromisedBy => "承诺给出方案的时间", "Plan promised by";
    CalledAt => "通话时间（留空即现在）", "Called at (empty: now)";
    Apologize => "致歉", "Apologize";
    Note => "备注", "Note";
    ReportToCac => "上报客户服务中心", "Report to the CAC";
    CacReference => "客服中心编号", "CAC reference";
    RecordContact => "记录联系", "Record a contact attempt";
    Purpose => "目的", "Purpose";
    Answered => "客户已接听", "Customer answered";
    AddNote => "添加备注", "Add a note";
    Submit => "提交", "Submit";
    Recorded => "已记录。", "Recorded.";
    Replayed => "此表单已提交过，未重复记录。", "This form was already submitted: nothing was recorded twice.";
    // Statistics.
    StatisticsTitle => "年度分析", "Annual analysis";
    Complaints => "投诉数", "Complaints";
    PerMonthByCategory => "每月投诉（按类别）", "Complaints per month by category";
    PerMonthByChannel => "每月投诉（按渠道）", "Complaints per month by channel";
    PerMonthByRootCause => "每月投诉（按根本原因）", "Complaints per month by root cause";
    DeadlinesMetMissed => "各期限达成与超时", "Deadlines met and missed";
    Met => "达成", "met";
    Missed => "超时", "missed";
    Rates => "升级率与重开率", "Escalation and reopen rates";
    EscalationRate => "升级率", "Escalation rate";
    ReopenRate => "重开率", "Reopen rate";
    SatisfactionDistribution => "满意度分布", "Satisfaction distribution";
    Average => "平均", "average";
    DealersSideBySide => "经销商对比", "Dealers side by side";
    Download => "下载 CSV", "Download CSV";
    Month => "月份", "Month";
    Count => "数量", "Count";
    Score => "分数", "Score";
    NoData => "无数据", "No data";
    // The auditor's page.
    AuditTitle => "审计", "Audit";
    VerifyLog => "校验整个日志", "Verify the whole log";
    TakeDigest => "生成摘要", "Take a digest";
    CheckDigest => "核对已保存的摘要", "Check a saved digest";
    Position => "位置", "Position";
    HeadHash => "头部哈希", "Head hash";
    DigestTaken => "摘要（请保存）", "Digest (keep it)";
    ExportTimelines => "导出时间线", "Export timelines";
    ExportHelp => "留空导出全部；多个投诉编号用逗号分隔。", "Leave empty for every complaint; separate several ids with commas.";
    ComplaintIds => "投诉编号", "Complaint ids";
    Verdict => "结论", "Verdict";
    Consistent => "一致：日志仍然延续该摘要", "Consistent: the log still extends the digest";
    Truncated => "日志已被截断", "The log was truncated";
    HashMismatch => "哈希不符：历史被改写", "Hash mismatch: history was rewritten";
    Broken => "摘要之前的链已断裂", "The chain before the digest is broken";
    FirstBreak => "第一处断裂", "First break";
}

/// A label for each value of a proto enum, in both languages.
macro_rules! labels {
    ($name:ident: $ty:ty { $($variant:ident => $zh:literal, $en:literal;)+ }) => {
        pub(crate) fn $name(value: i32, lang: Lang) -> &'static str {
            match (<$ty>::try_from(value), lang) {
                $((Ok(<$ty>::$variant), Lang::Zh) => $zh, (Ok(<$ty>::$variant), Lang::En) => $en,)+
                (_, Lang::Zh) => "—",
                (_, Lang::En) => "—",
            }
        }
    };
}

labels!(status: proto::Status {
    Received => "已受理", "Received";
    Investigating => "调查中", "Investigating";
    SolutionProposed => "已提出方案", "Solution proposed";
    SolutionAgreed => "方案已同意", "Solution agreed";
    Resolved => "已解决", "Resolved";
    FollowedUp => "已回访", "Followed up";
    Closed => "已结案", "Closed";
    Merged => "已合并", "Merged";
});

labels!(category: proto::Category {
    ProductQuality => "产品质量", "Product quality";
    RepairWorkmanship => "维修质量", "Repair workmanship";
    RepairCost => "维修费用", "Repair cost";
    ReceptionAttitude => "接待态度", "Reception attitude";
    Purchase => "购车", "Purchase";
    SpareParts => "备件", "Spare parts";
});

labels!(severity: proto::Severity {
    Normal => "一般", "Normal";
    Major => "重大", "Major";
    Special => "特殊", "Special";
    Urgent => "紧急", "Urgent";
});

labels!(channel: proto::Channel {
    ManufacturerHotline => "厂家热线", "Manufacturer hotline";
    DealerHotline => "经销商热线", "Dealer hotline";
    WalkIn => "到店", "Walk-in";
    Letter => "信件", "Letter";
    Fax => "传真", "Fax";
    Email => "电子邮件", "Email";
    Website => "网站", "Website";
    NewModelQualitySurvey => "新车质量调查", "New-model quality survey";
    CsiSurvey => "CSI 调查", "CSI survey";
    InternalTransfer => "内部转交", "Internal transfer";
    Media => "媒体", "Media";
    ConsumerRights => "消费者权益机构", "Consumer-rights body";
});

labels!(root_cause: proto::RootCause {
    DealerPoorExplanation => "经销商解释不清", "Dealer: poor explanation";
    DealerBrokenPromise => "经销商未兑现承诺", "Dealer: broken promise";
    DealerAttitude => "经销商态度", "Dealer: attitude";
    CustomerMisunderstanding => "客户误解", "Customer misunderstanding";
    CustomerMisuse => "客户使用不当", "Customer misuse";
    ProductDefect => "产品缺陷", "Product defect";
    EquipmentDefect => "设备缺陷", "Equipment defect";
    SupplierPart => "供应商零件", "Supplier's part";
});

labels!(level: proto::Level {
    DealerDesk => "经销商前台", "Dealer desk";
    ServiceManager => "服务经理", "Service manager";
    ShiftSupervisor => "值班主管", "Shift supervisor";
    ManufacturerCac => "厂家客服中心", "Manufacturer CAC";
    RegionalManager => "区域经理", "Regional manager";
    RegionalEngineer => "区域工程师", "Regional engineer";
});

labels!(deadline_kind: proto::DeadlineKind {
    ReportToCac => "上报客服中心", "Report to the CAC";
    Result => "处理结果", "Result";
    Promise => "承诺日期", "Promised date";
    SatisfactionCallback => "满意度回访", "Satisfaction call-back";
    CallbackRetry => "再次回访", "Call-back retry";
    MarkUnreachable => "判定联系不上", "Mark unreachable";
    ProgressReport => "进度报告", "Progress report";
    EngineerDispatch => "派遣工程师", "Engineer dispatch";
    EngineerArrival => "工程师到场", "Engineer arrival";
    PlanPromise => "承诺方案日期", "Plan promise";
    CacFeedback => "客服中心反馈", "CAC feedback";
    ResultReport => "结果上报", "Result report";
});

labels!(waiting_for: proto::WaitingFor {
    Customer => "客户", "the customer";
    Parts => "零件", "parts";
    ThirdParty => "第三方", "a third party";
});

labels!(contact_purpose: proto::ContactPurpose {
    GatherInformation => "了解情况", "Gather information";
    ProgressUpdate => "进度告知", "Progress update";
    SatisfactionCallback => "满意度回访", "Satisfaction call-back";
});

macro_rules! event_names {
    ($($ty:literal => $zh:literal, $en:literal;)+) => {
        /// A stored event type's name for people; an unknown type shows as stored.
        pub(crate) fn event_type(name: &str, lang: Lang) -> &str {
            match (name, lang) {
                $(($ty, Lang::Zh) => $zh, ($ty, Lang::En) => $en,)+
                _ => name,
            }
        }
    };
}

event_names! {
    "complaint.filed" => "受理投诉", "Filed";
    "complaint.acknowledged" => "确认受理", "Acknowledged";
    "complaint.apologized" => "致歉", "Apologized";
    "complaint.reported_to_cac" => "上报客服中心", "Reported to the CAC";
    "complaint.contact_attempted" => "联系客户", "Contact attempted";
    "complaint.customer_unreachable" => "联系不上客户", "Customer unreachable";
    "complaint.information_gathered" => "收集信息", "Information gathered";
    "complaint.assessed" => "性质评估", "Assessed";
    "complaint.cause_found" => "查明原因", "Cause found";
    "complaint.solution_proposed" => "提出方案", "Solution proposed";
    "complaint.option_accepted" => "客户接受方案", "Option accepted";
    "complaint.option_rejected" => "客户拒绝方案", "Option rejected";
    "complaint.plan_promise_renewed" => "重新承诺方案日期", "Plan promise renewed";
    "complaint.promise_date_changed" => "承诺日期变更", "Promise date changed";
    "complaint.compensation_requested" => "申请补偿", "Compensation requested";
    "complaint.compensation_approved" => "批准补偿", "Compensation approved";
    "complaint.compensation_rejected" => "拒绝补偿", "Compensation rejected";
    "complaint.escalated" => "升级", "Escalated";
    "complaint.engineer_dispatched" => "派遣工程师", "Engineer dispatched";
    "complaint.on_site_appraisal_recorded" => "现场鉴定", "On-site appraisal";
    "complaint.progress_reported" => "报告进度", "Progress reported";
    "complaint.paused" => "暂停", "Paused";
    "complaint.resumed" => "恢复", "Resumed";
    "complaint.three_changes_made" => "三换", "Three changes made";
    "complaint.work_carried_out" => "实施方案", "Work carried out";
    "complaint.resolved" => "已解决", "Resolved";
    "complaint.result_reported_to_cac" => "上报处理结果", "Result reported to the CAC";
    "complaint.supplier_notified" => "通知供应商", "Supplier notified";
    "complaint.supplier_charged_back" => "向供应商索赔", "Supplier charged back";
    "complaint.supplier_improvement_requested" => "要求供应商改进", "Supplier asked to improve";
    "complaint.satisfaction_recorded" => "记录满意度", "Satisfaction recorded";
    "complaint.closed" => "结案", "Closed";
    "complaint.reopened" => "重新打开", "Reopened";
    "complaint.corrective_action_assigned" => "分派纠正措施", "Corrective action assigned";
    "complaint.corrective_action_done" => "纠正措施完成", "Corrective action done";
    "complaint.corrective_action_verified" => "纠正措施验证", "Corrective action verified";
    "complaint.prevention_planned" => "制定预防计划", "Prevention planned";
    "complaint.case_shared" => "案例分享", "Case shared";
    "complaint.note_added" => "备注", "Note added";
    "complaint.evidence_attached" => "附加证据", "Evidence attached";
    "complaint.merged_into" => "合并到其他投诉", "Merged into another";
    "complaint.deadline_warning" => "期限预警", "Deadline warning";
    "complaint.deadline_missed" => "期限超时", "Deadline missed";
    "complaint.callback_due" => "应回访", "Call-back due";
    "complaint.progress_report_due" => "应报告进度", "Progress report due";
    "complaint.duplicate_merged" => "合并重复投诉", "Duplicate merged";
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_languages_and_unknown_values() {
        assert_eq!(Msg::NavQueue.text(Lang::Zh), "工作队列");
        assert_eq!(Msg::NavQueue.text(Lang::En), "Work queue");
        assert_eq!(status(proto::Status::Closed as i32, Lang::En), "Closed");
        assert_eq!(status(999, Lang::Zh), "—");
        assert_eq!(event_type("complaint.filed", Lang::Zh), "受理投诉");
        assert_eq!(event_type("complaint.future", Lang::En), "complaint.future");
        assert_eq!(Lang::parse("en"), Some(Lang::En));
        assert_eq!(Lang::parse("fr"), None);
    }
}
